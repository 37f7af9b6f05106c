package admission

import "net/netip"

// Key kinds: the first byte hashed into a client key (enum xdhcp_key_kind).
const (
	KindChaddr   byte = 1 // the key bytes are chaddr[0:hlen]
	KindClientID byte = 2 // the key bytes are option 61's data
)

// FNV-1a 64 parameters.
const (
	fnvBasis uint64 = 0xcbf29ce484222325
	fnvPrime uint64 = 0x100000001b3
)

// ClientKey returns the 64-bit key that identifies a client in the rate
// limits and the known-client table, exactly as the XDP program computes
// it: clientID (option 61's data) if it is non-empty, else chaddr (the
// first hlen bytes of the chaddr field), hashed as FNV-1a 64 over the kind
// byte followed by the key bytes last to first (the order the RFC 3074
// hash reads them). ok is false when both are empty: the message has no
// identity and is not limited (Kea drops it).
//
// The daemon computes the same key from a lease: ClientKey(l.ClientID,
// l.HWAddr).
func ClientKey(clientID, chaddr []byte) (key uint64, ok bool) {
	kind, b := KindClientID, clientID
	if len(b) == 0 {
		kind, b = KindChaddr, chaddr
	}
	if len(b) == 0 {
		return 0, false
	}
	h := (fnvBasis ^ uint64(kind)) * fnvPrime
	for i := len(b) - 1; i >= 0; i-- {
		h = (h ^ uint64(b[i])) * fnvPrime
	}
	return h, true
}

// RelayKey returns the per-relay bucket id: giaddr as a number
// (192.0.2.1 = 0xc0000201) when the datagram was unicast to one of this
// host's addresses and giaddr is set, else 0, "the local segment" (direct
// clients, and anything broadcast that claims a giaddr).
func RelayKey(giaddr netip.Addr, unicastToUs bool) uint64 {
	if !unicastToUs || !giaddr.Is4() {
		return 0
	}
	a := giaddr.As4()
	return uint64(a[0])<<24 | uint64(a[1])<<16 | uint64(a[2])<<8 | uint64(a[3])
}
