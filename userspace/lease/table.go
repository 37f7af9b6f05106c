package lease

// table is the compact lease set: records in a slab addressed by slot
// number, and byAddr from address to slot (in address order). The loader
// fills one; memIndex adds the secondary indexes and the expiry heap.
//
// The slab is a list of fixed-size chunks, so it grows without copying and
// a record never moves: a slot number (and a *record under the Store's lock)
// stays valid until the lease is removed. Freed slots and blobs are reused.
// Nothing in a chunk is a pointer; the only pointers are the blob strings of
// the leases that have a hostname, a user context or a long client id.
//
// Per lease that is 64 bytes of record plus about 4 bytes of byAddr in
// dense pools (see addrIndex), against ~350 bytes for a *Lease with its
// slices plus pointer-valued maps.
type table struct {
	chunks    []*[chunkSize]record
	next      uint32   // slots below next have been handed out at least once
	free      []uint32 // freed slots, reused first
	blobs     []string // blob i+1 of a record is blobs[i]
	freeBlobs []uint32
	byAddr    *addrIndex // address → slot
	buf       []byte     // scratch for building blobs
}

const chunkSize = 4096 // records per chunk: 256 KiB

func newTable() *table { return &table{byAddr: newAddrIndex()} }

func (t *table) len() int { return t.byAddr.len() }

// rec returns the record in slot s.
func (t *table) rec(s uint32) *record { return &t.chunks[s/chunkSize][s%chunkSize] }

// lookup returns the record of the lease at address k.
func (t *table) lookup(k uint32) (uint32, *record, bool) {
	s, ok := t.byAddr.get(k)
	if !ok {
		return 0, nil, false
	}
	return s, t.rec(s), true
}

// insert gives address k a zeroed slot.
func (t *table) insert(k uint32) (uint32, *record) {
	var s uint32
	if n := len(t.free); n > 0 {
		s = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		if t.next%chunkSize == 0 {
			t.chunks = append(t.chunks, new([chunkSize]record))
		}
		s = t.next
		t.next++
	}
	t.byAddr.put(k, s)
	return s, t.rec(s)
}

// remove deletes the lease at address k, freeing its slot and blob.
func (t *table) remove(k uint32) {
	s, ok := t.byAddr.get(k)
	if !ok {
		return
	}
	t.byAddr.remove(k)
	r := t.rec(s)
	t.setBlob(r, nil)
	*r = record{}
	t.free = append(t.free, s)
}

// parts returns r's variable-length fields.
func (t *table) parts(r *record) blobParts {
	if r.blob == 0 {
		return blobParts{}
	}
	return decodeBlob(t.blobs[r.blob-1])
}

// setBlob stores b (nil: none) as r's blob, reusing r's blob slot.
func (t *table) setBlob(r *record, b []byte) {
	if len(b) == 0 {
		if r.blob != 0 {
			t.blobs[r.blob-1] = ""
			t.freeBlobs = append(t.freeBlobs, r.blob-1)
			r.blob = 0
		}
		return
	}
	if r.blob == 0 {
		if n := len(t.freeBlobs); n > 0 {
			r.blob = t.freeBlobs[n-1] + 1
			t.freeBlobs = t.freeBlobs[:n-1]
		} else {
			t.blobs = append(t.blobs, "")
			r.blob = uint32(len(t.blobs))
		}
	}
	t.blobs[r.blob-1] = string(b)
}

// set stores l (validated, normalized) in r, keeping r's heap position.
func (t *table) set(r *record, l *Lease) {
	heapIdx, blob := r.heapIdx, r.blob
	needsBlob := r.setFixed(l)
	r.heapIdx, r.blob = heapIdx, blob
	if !needsBlob {
		t.setBlob(r, nil)
		return
	}
	var cid []byte
	if r.flags&flagCIDBlob != 0 {
		cid = l.ClientID
	}
	t.buf = appendBlob(t.buf[:0], l.Hostname, l.UserContext, cid)
	t.setBlob(r, t.buf)
}

// put stores l at its address (a new slot or the existing one).
func (t *table) put(l *Lease) {
	k := addrKey(l.Addr)
	_, r, ok := t.lookup(k)
	if !ok {
		_, r = t.insert(k)
		r.heapIdx = -1
	}
	t.set(r, l)
}

// lease returns a new Lease for slot s.
func (t *table) lease(s uint32) *Lease {
	r := t.rec(s)
	return r.toLease(t.parts(r))
}

// ascend calls fn for every lease's slot in address order. fn must not
// add or remove leases.
func (t *table) ascend(fn func(s uint32, r *record)) {
	t.byAddr.ascend(0, func(_, s uint32) bool {
		fn(s, t.rec(s))
		return true
	})
}
