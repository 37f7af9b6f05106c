package lease

import (
	"bytes"
	"encoding/binary"
	"net"
)

// record is how a Store keeps one lease: a fixed-size value with no
// pointers, so a million of them form a few dozen large noscan chunks that
// the garbage collector never has to look into (see table).
//
// The hardware address (at most maxHWAddrLen bytes) is always inline. A
// client identifier of up to cidInline bytes (type byte + MAC is 7) is
// inline too; a longer one, the hostname and the user context live in the
// lease's blob (see appendBlob), which most leases do not have.
//
// Layout (64 bytes, no padding):
//
//	cltt 8 | addr valid subnet state heapIdx blob 4×6 | flags hwLen cidLen 3 | hw 20 | cid 9
type record struct {
	cltt    int64
	addr    uint32 // big-endian IPv4 address, as addrKey
	valid   uint32
	subnet  uint32
	state   uint32
	heapIdx int32  // position in the expiry heap, -1 when not in it
	blob    uint32 // 1-based index into table.blobs; 0 = no blob
	flags   uint8
	hwLen   uint8
	cidLen  uint8 // inline client-id length (0 = none); unused with flagCIDBlob
	hw      [maxHWAddrLen]byte
	cid     [cidInline]byte
}

const cidInline = 9

const (
	flagLive    uint8 = 1 << iota // the slot holds a lease (free slots are zero)
	flagFqdnFwd                   // Lease.FqdnFwd
	flagFqdnRev                   // Lease.FqdnRev
	flagCIDBlob                   // the client id is longer than cidInline: it ends the blob
)

func (r *record) expire() int64 { return r.cltt + int64(r.valid) }

func (r *record) reclaimable() bool {
	s := State(r.state)
	return s == StateDefault || s == StateDeclined
}

func (r *record) hwAddr() []byte { return r.hw[:r.hwLen] }

// setFixed copies everything but the variable-length strings and the long
// client id from l into r (which must be zeroed or about to be fully set),
// and reports whether l needs a blob. l must have passed validate.
func (r *record) setFixed(l *Lease) (needsBlob bool) {
	r.cltt = l.CLTT
	r.addr = addrKey(l.Addr)
	r.valid = l.ValidLifetime
	r.subnet = l.SubnetID
	r.state = uint32(l.State)
	r.flags = flagLive
	if l.FqdnFwd {
		r.flags |= flagFqdnFwd
	}
	if l.FqdnRev {
		r.flags |= flagFqdnRev
	}
	r.hwLen = uint8(copy(r.hw[:], l.HWAddr))
	clear(r.hw[r.hwLen:])
	r.cidLen = 0
	clear(r.cid[:])
	if len(l.ClientID) > cidInline {
		r.flags |= flagCIDBlob
	} else {
		r.cidLen = uint8(copy(r.cid[:], l.ClientID))
	}
	return l.Hostname != "" || l.UserContext != "" || len(l.ClientID) > cidInline
}

// blobParts are the variable-length fields of a lease as stored in a blob.
type blobParts struct {
	host, userContext string
	cid               string // only when flagCIDBlob
}

// appendBlob encodes a blob: uvarint(len(host)) host uvarint(len(uc)) uc
// cid. The client id runs to the end; it is "" unless flagCIDBlob is set.
func appendBlob[H, U, C string | []byte](dst []byte, host H, uc U, cid C) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(host)))
	dst = append(dst, host...)
	dst = binary.AppendUvarint(dst, uint64(len(uc)))
	dst = append(dst, uc...)
	return append(dst, cid...)
}

// decodeBlob splits a blob made by appendBlob. The parts share the blob's
// memory (strings are immutable).
func decodeBlob(b string) blobParts {
	var p blobParts
	p.host, b = blobField(b)
	p.userContext, b = blobField(b)
	p.cid = b
	return p
}

func blobField(b string) (field, rest string) {
	var n uint64
	var i int
	for shift := 0; i < len(b); shift += 7 {
		c := b[i]
		i++
		n |= uint64(c&0x7f) << shift
		if c < 0x80 {
			break
		}
	}
	return b[i : i+int(n)], b[i+int(n):]
}

// toLease builds a new Lease from r and its blob parts. HWAddr and ClientID
// share one allocation (capacity-limited, so appending to one cannot touch
// the other); they are nil when absent, as in a stored Lease.
func (r *record) toLease(p blobParts) *Lease {
	b := new(leaseBuf) // one allocation when the identifiers fit inline
	r.fill(&b.l, p, b.ids[:0])
	return &b.l
}

// fill sets every field of l from r. The hardware address and client id are
// copied into buf (grown as needed; pass nil for fresh memory) and the
// possibly grown buf is returned for reuse.
func (r *record) fill(l *Lease, p blobParts, buf []byte) []byte {
	cid := r.cid[:r.cidLen]
	ncid := len(cid)
	if r.flags&flagCIDBlob != 0 {
		ncid = len(p.cid)
	}
	n := int(r.hwLen) + ncid
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	copy(buf, r.hw[:r.hwLen])
	if r.flags&flagCIDBlob != 0 {
		copy(buf[r.hwLen:], p.cid)
	} else {
		copy(buf[r.hwLen:], cid)
	}
	*l = Lease{
		Addr:          keyAddr(r.addr),
		ValidLifetime: r.valid,
		CLTT:          r.cltt,
		SubnetID:      r.subnet,
		FqdnFwd:       r.flags&flagFqdnFwd != 0,
		FqdnRev:       r.flags&flagFqdnRev != 0,
		Hostname:      p.host,
		State:         State(r.state),
		UserContext:   p.userContext,
	}
	if r.hwLen > 0 {
		l.HWAddr = net.HardwareAddr(buf[:r.hwLen:r.hwLen])
	}
	if ncid > 0 {
		l.ClientID = buf[r.hwLen:n:n]
	}
	return buf
}

// sameCID reports whether r's client id (inline or from its blob parts)
// equals id.
func (r *record) sameCID(blobCID string, id []byte) bool {
	if r.flags&flagCIDBlob != 0 {
		return blobCID == string(id)
	}
	return r.cidLen > 0 && bytes.Equal(r.cid[:r.cidLen], id)
}
