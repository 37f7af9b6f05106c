package packet

import "net/netip"

// Header sizes and protocol numbers.
const (
	EthernetHeaderLen = 14
	VLANTagLen        = 4
	IPv4HeaderLen     = 20 // without options; Encode never writes options
	UDPHeaderLen      = 8
	MaxVLANs          = 2

	// MaxPayload is the largest UDP payload an IPv4 datagram can carry
	// with a 20-byte IP header.
	MaxPayload = 0xffff - IPv4HeaderLen - UDPHeaderLen

	// DefaultTTL is used by Encode when Frame.TTL is zero.
	DefaultTTL = 64

	etherTypeIPv4  = 0x0800
	etherTypeVLAN  = 0x8100 // 802.1Q C-tag
	etherTypeQinQ  = 0x88a8 // 802.1ad S-tag
	etherTypeQinQ2 = 0x9100 // pre-standard S-tag, still seen
	protoUDP       = 17
)

// Frame is an Ethernet (optionally VLAN-tagged) IPv4/UDP datagram. Decode
// fills it without allocating; Payload then points into the decoded buffer
// and is valid only as long as that buffer is.
type Frame struct {
	DstMAC, SrcMAC [6]byte
	// VLANs holds the tag control information (PCP, DEI and VID; the VID is
	// VLANs[i]&0x0fff) of up to two tags, outermost first.
	VLANs [MaxVLANs]uint16
	// TPIDs holds the tag protocol identifiers matching VLANs. On encode a
	// zero TPID means 0x88a8 for the outer of two tags and 0x8100 otherwise;
	// decode fills in what it saw so a reply can echo the request's tagging.
	TPIDs    [MaxVLANs]uint16
	NumVLANs int

	Src, Dst         netip.Addr // IPv4 only
	SrcPort, DstPort uint16
	TTL              uint8 // 0 encodes as DefaultTTL

	// Payload is the UDP payload (a view into the decoded buffer).
	Payload []byte
}

// HeaderLen is the number of bytes Encode writes before the UDP payload of f.
func (f *Frame) HeaderLen() int {
	return EthernetHeaderLen + f.NumVLANs*VLANTagLen + IPv4HeaderLen + UDPHeaderLen
}

// VLANID returns the VLAN ID (low 12 bits) of tag i.
func (f *Frame) VLANID(i int) uint16 { return f.VLANs[i] & 0x0fff }
