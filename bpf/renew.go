package bpf

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
)

// Kernel renewals (xdhcp.h, "Kernel renewals"): user space keeps one
// RenewEntry per client whose identical renewal Kea 2.2's lease caching
// would reuse, and the program answers that renewal with XDP_TX. These are
// the Go faces of struct xdhcp_renew_key, xdhcp_renew and xdhcp_profile.

// Limits of the kernel reply (xdhcp.h).
const (
	RenewHdrLen  = 44  // XDHCP_HDR_LEN: reply bytes op..chaddr
	RenewFileLen = 192 // XDHCP_FILE_LEN: reply bytes sname..file
	RenewPreMax  = 256 // XDHCP_PRE_MAX
	RenewPostMax = 256 // XDHCP_POST_MAX
	RenewCIDMax  = 64  // XDHCP_CID_MAX: option 61 as echoed, header included
	RenewRAIMax  = 64  // XDHCP_RAI_MAX: option 82 as echoed, header included
	RenewNoOff   = 0xffff
	RenewMinPay  = 300 // XDHCP_MIN_REPLY
	// RenewProfiles is the number of profile slots (XDHCP_PROFILES).
	RenewProfiles = 4096
)

// RenewKey identifies a cached client: its client key (admission.ClientKey),
// giaddr (network order bytes; zero in this version) and ingress ifindex.
type RenewKey struct {
	Client  uint64
	Giaddr  [4]byte
	Ifindex uint32
}

// RenewEntry is one client's cached renewal (struct xdhcp_renew). Addresses
// are network-order bytes; times are on the monotonic clock the program
// reads (bpf_ktime_get_ns, CLOCK_MONOTONIC).
type RenewEntry struct {
	Digest uint64 // renewcache.Digest of the cached request's UDP payload
	ClttNs uint64 // the lease's CLTT second on the monotonic clock
	// MACUntilNs: until then the program may send to DstMAC from SrcMAC
	// when bpf_fib_lookup cannot answer (forwarding off on the port).
	MACUntilNs     uint64
	DstMAC, SrcMAC [6]byte
	MaxAge         uint32 // the last age in whole seconds still reused
	Valid          uint32 // the stored lease's valid lifetime
	ReqSrc         [4]byte
	ReqDst         [4]byte
	ReplySrc       [4]byte
	// ReplyDst:ReplyPort is where the reply goes: ciaddr:68, or giaddr:67
	// for a relayed renewal.
	ReplyDst  [4]byte
	ReplyPort uint16
	Yiaddr    [4]byte
	Profile   uint32
	DHCPLen   uint16
	Hdr       [RenewHdrLen]byte
	CID       []byte // option 61 as the reply carries it (code, length, data), at most RenewCIDMax
	RAI       []byte // option 82 as the reply echoes it, at most RenewRAIMax
}

// RenewProfile is a shared reply option block (struct xdhcp_profile).
type RenewProfile struct {
	T1Fixed, T2Fixed uint32
	T1Pct, T2Pct     uint32 // percent × 65536, exact; 0: none
	Off51            uint16
	Off58, Off59     uint16 // RenewNoOff: absent
	File             [RenewFileLen]byte
	Pre, Post        []byte
}

func be32(b [4]byte) uint32 {
	// The map holds __be32 as stored bytes; on little-endian hosts the
	// uint32 whose memory is b is this.
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func (k RenewKey) raw() xdhcpXdhcpRenewKey {
	return xdhcpXdhcpRenewKey{Client: k.Client, Giaddr: be32(k.Giaddr), Ifindex: k.Ifindex}
}

// SetRenew writes (or replaces) the cached renewal of k.
func (d *Datapath) SetRenew(k RenewKey, e *RenewEntry) error {
	if len(e.CID) > RenewCIDMax || len(e.RAI) > RenewRAIMax {
		return fmt.Errorf("set renew entry: option 61/82 of %d/%d bytes (max %d/%d)", len(e.CID), len(e.RAI), RenewCIDMax, RenewRAIMax)
	}
	if e.Profile >= RenewProfiles {
		return fmt.Errorf("set renew entry: profile %d out of range", e.Profile)
	}
	v := xdhcpXdhcpRenew{
		Digest: e.Digest, ClttNs: e.ClttNs, MacUntilNs: e.MACUntilNs, Dmac: e.DstMAC, Smac: e.SrcMAC, MaxAge: e.MaxAge, Valid: e.Valid,
		ReqSrc: be32(e.ReqSrc), ReqDst: be32(e.ReqDst), ReplySrc: be32(e.ReplySrc), Yiaddr: be32(e.Yiaddr),
		ReplyDst: be32(e.ReplyDst), ReplyPort: e.ReplyPort, RaiLen: uint8(len(e.RAI)),
		Profile: e.Profile, DhcpLen: e.DHCPLen, CidLen: uint8(len(e.CID)), Hdr: e.Hdr,
	}
	copy(v.Cid[:], e.CID)
	copy(v.Rai[:], e.RAI)
	if err := d.objs.XdhcpRenews.Put(k.raw(), &v); err != nil {
		return fmt.Errorf("set renew entry: %w", err)
	}
	return nil
}

// DeleteRenew removes k's cached renewal; a missing one is no error.
func (d *Datapath) DeleteRenew(k RenewKey) error {
	if err := d.objs.XdhcpRenews.Delete(k.raw()); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("delete renew entry: %w", err)
	}
	return nil
}

// ClearRenews removes every cached renewal.
func (d *Datapath) ClearRenews() error {
	var k xdhcpXdhcpRenewKey
	var keys []xdhcpXdhcpRenewKey
	it := d.objs.XdhcpRenews.Iterate()
	var v xdhcpXdhcpRenew
	for it.Next(&k, &v) {
		keys = append(keys, k)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("clear renew entries: %w", err)
	}
	for _, k := range keys {
		if err := d.objs.XdhcpRenews.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("clear renew entries: %w", err)
		}
	}
	return nil
}

// RenewEntries is the number of cached renewals.
func (d *Datapath) RenewEntries() (int, error) {
	var k xdhcpXdhcpRenewKey
	var v xdhcpXdhcpRenew
	n := 0
	it := d.objs.XdhcpRenews.Iterate()
	for it.Next(&k, &v) {
		n++
	}
	return n, it.Err()
}

// RenewEntrySize and RenewProfileSize are the bytes one entry (key and
// value) and one profile take in their maps, before the kernel's per-element
// overhead.
const (
	RenewEntrySize   = 16 + 248
	RenewProfileSize = 732
)

// SetProfile writes profile slot idx; nil clears it (renewals referring to
// it are then misses).
func (d *Datapath) SetProfile(idx uint32, p *RenewProfile) error {
	var v xdhcpXdhcpProfile
	if p != nil {
		if len(p.Pre) == 0 || len(p.Pre) > RenewPreMax || len(p.Post) > RenewPostMax {
			return fmt.Errorf("set renew profile %d: option block of %d+%d bytes", idx, len(p.Pre), len(p.Post))
		}
		v = xdhcpXdhcpProfile{
			T1Fixed: p.T1Fixed, T2Fixed: p.T2Fixed, T1Pct: p.T1Pct, T2Pct: p.T2Pct,
			PreLen: uint16(len(p.Pre)), PostLen: uint16(len(p.Post)),
			Off51: p.Off51, Off58: p.Off58, Off59: p.Off59, Set: 1, File: p.File,
		}
		copy(v.Pre[:], p.Pre)
		copy(v.Post[:], p.Post)
	}
	if err := d.objs.XdhcpProfiles.Put(idx, &v); err != nil {
		return fmt.Errorf("set renew profile %d: %w", idx, err)
	}
	return nil
}
