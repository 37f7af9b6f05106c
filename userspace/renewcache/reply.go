// Package renewcache keeps the XDP program's renewal cache (bpf xdhcp.h,
// "Kernel renewals"; docs/kea/kernel-renew.md): from each ACK the engine
// sends to a renewal whose identical successor Kea 2.2's lease caching
// would reuse (dhcp.Reply.Reuse), it derives a per-client entry and a
// shared reply profile, writes them through a Table (bpf.Datapath), and
// removes entries when the lease, the configuration or the server's state
// changes. It also holds the Go twin of the kernel's reply (Reply) and of
// its request digest (Digest).
package renewcache

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/xdhcp/xdhcp/bpf"
)

// FNV-1a 64 (xdhcp.h client key and digest).
const (
	fnvBasis = 0xcbf29ce484222325
	fnvPrime = 0x100000001b3
)

// Digest is the kernel's request digest (xdhcp.h): FNV-1a 64 steps over
// the UDP payload's little-endian 64-bit words, bytes 4..9 (xid, secs)
// zeroed, the last word zero-padded.
func Digest(payload []byte) uint64 {
	h := uint64(fnvBasis)
	var w [8]byte
	for i := 0; i < len(payload); i += 8 {
		clear(w[:])
		copy(w[:], payload[i:])
		for j := range 8 {
			if k := i + j; k >= 4 && k < 10 {
				w[j] = 0
			}
		}
		h = (h ^ binary.LittleEndian.Uint64(w[:])) * fnvPrime
	}
	return h
}

// Layout of a reply (the user-space encoder, insomniacslk ToBytes).
const (
	hdrLen      = bpf.RenewHdrLen
	fileEnd     = hdrLen + bpf.RenewFileLen // 236: the cookie
	optionsOff  = 240
	optClientID = 61
	optEnd      = 255
)

// Shape is a reply split into what the kernel takes from the client entry
// (Hdr, CID) and from the shared profile (File, Pre, Post and the offsets
// of options 51, 58 and 59 in Pre).
type Shape struct {
	Hdr          [bpf.RenewHdrLen]byte // reply bytes 0..43, xid and secs zeroed
	File         [bpf.RenewFileLen]byte
	CID          []byte // option 61 as the reply carries it, or nil
	RAI          []byte // option 82 as the reply echoes it (last), or nil
	Pre, Post    []byte // options below 61; options above 61 but 82
	Off51        uint16
	Off58, Off59 uint16 // bpf.RenewNoOff: absent
}

// ErrShape says a reply cannot be rebuilt by the kernel (see Split).
var ErrShape = errors.New("reply not cacheable in the kernel")

// Split splits an encoded ACK. It refuses (ErrShape) a reply whose layout
// the kernel does not rebuild byte for byte: options out of code order, a
// repeated option, option 52, option 82 anywhere but last, option 51 missing or not 4 bytes, a
// block over the kernel's sizes, or anything after the end option but the
// zero padding to 300 bytes.
func Split(reply []byte) (*Shape, error) {
	if len(reply) < optionsOff+1 {
		return nil, fmt.Errorf("%w: %d bytes", ErrShape, len(reply))
	}
	s := &Shape{Off51: bpf.RenewNoOff, Off58: bpf.RenewNoOff, Off59: bpf.RenewNoOff}
	copy(s.Hdr[:], reply[:hdrLen])
	for i := 4; i < 10; i++ {
		s.Hdr[i] = 0
	}
	copy(s.File[:], reply[hdrLen:fileEnd])
	last := -1
	i := optionsOff
	end := -1
	for i < len(reply) {
		code := int(reply[i])
		if code == optEnd {
			end = i
			break
		}
		if code == 0 || i+2 > len(reply) || i+2+int(reply[i+1]) > len(reply) {
			return nil, fmt.Errorf("%w: option at %d", ErrShape, i)
		}
		n := int(reply[i+1])
		opt := reply[i : i+2+n]
		if s.RAI != nil {
			return nil, fmt.Errorf("%w: option %d after option 82", ErrShape, code)
		}
		if code == 82 {
			s.RAI = append([]byte(nil), opt...)
			i += 2 + n
			continue
		}
		if code <= last || code == 52 {
			return nil, fmt.Errorf("%w: option %d after %d", ErrShape, code, last)
		}
		last = code
		switch {
		case code < optClientID:
			at := uint16(len(s.Pre) + 2)
			switch code {
			case 51:
				if n != 4 {
					return nil, fmt.Errorf("%w: option 51 of %d bytes", ErrShape, n)
				}
				s.Off51 = at
			case 58, 59:
				if n != 4 {
					return nil, fmt.Errorf("%w: option %d of %d bytes", ErrShape, code, n)
				}
				if code == 58 {
					s.Off58 = at
				} else {
					s.Off59 = at
				}
			}
			s.Pre = append(s.Pre, opt...)
		case code == optClientID:
			s.CID = append([]byte(nil), opt...)
		default:
			s.Post = append(s.Post, opt...)
		}
		i += 2 + n
	}
	if end < 0 {
		return nil, fmt.Errorf("%w: no end option", ErrShape)
	}
	for _, b := range reply[end+1:] {
		if b != 0 {
			return nil, fmt.Errorf("%w: bytes after the end option", ErrShape)
		}
	}
	if s.Off51 == bpf.RenewNoOff || len(s.Pre) > bpf.RenewPreMax || len(s.Post) > bpf.RenewPostMax ||
		len(s.CID) > bpf.RenewCIDMax || len(s.RAI) > bpf.RenewRAIMax {
		return nil, fmt.Errorf("%w: option blocks %d/%d/%d/%d bytes", ErrShape, len(s.Pre), len(s.CID), len(s.Post), len(s.RAI))
	}
	if want := payloadLen(s); want != len(reply) {
		return nil, fmt.Errorf("%w: %d bytes, the kernel would send %d", ErrShape, len(reply), want)
	}
	return s, nil
}

func payloadLen(s *Shape) int {
	n := optionsOff + len(s.Pre) + len(s.CID) + len(s.Post) + len(s.RAI) + 1
	return max(n, bpf.RenewMinPay)
}

// Reply is the Go twin of the payload the kernel builds (xdhcp.c
// try_renew): the shape's bytes with xid, and options 51/58/59 set to rem,
// t1 and t2 (a zero t1/t2 must match an absent option).
func Reply(s *Shape, xid [4]byte, rem, t1, t2 uint32) []byte {
	b := make([]byte, payloadLen(s))
	copy(b, s.Hdr[:])
	copy(b[4:8], xid[:])
	copy(b[hdrLen:], s.File[:])
	copy(b[fileEnd:], []byte{99, 130, 83, 99})
	o := optionsOff
	pre := b[o : o+len(s.Pre)]
	copy(pre, s.Pre)
	o += len(s.Pre)
	o += copy(b[o:], s.CID)
	o += copy(b[o:], s.Post)
	o += copy(b[o:], s.RAI)
	b[o] = optEnd
	binary.BigEndian.PutUint32(pre[s.Off51:], rem)
	if s.Off58 != bpf.RenewNoOff {
		binary.BigEndian.PutUint32(pre[s.Off58:], t1)
	}
	if s.Off59 != bpf.RenewNoOff {
		binary.BigEndian.PutUint32(pre[s.Off59:], t2)
	}
	return b
}
