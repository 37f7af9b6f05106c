package dhcp

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/lease"
)

// condStore is a ConditionalStore over the memfile store (as pgsql's: the
// write decides against the row as read), counting Gets; before makes the
// next conditional write find the row changed by someone else.
type condStore struct {
	*lease.Store
	gets, byHW, rows int
	before           func()
}

func (c *condStore) Get(a netip.Addr) (*lease.Lease, bool) { c.gets++; return c.Store.Get(a) }

func (c *condStore) GetByHW(hw []byte, sid uint32) (*lease.Lease, bool) {
	c.byHW++
	return c.Store.GetByHW(hw, sid)
}

// rowsStore is condStore with ClientRows (as pgsql).
type rowsStore struct{ *condStore }

func (r rowsStore) ClientRows(a netip.Addr, hw, cid []byte, subnets []uint32) ([]*lease.Lease, bool) {
	r.rows++
	var out []*lease.Lease
	if l, ok := r.Store.Get(a); ok {
		out = append(out, l)
	}
	for _, sid := range subnets {
		if l, ok := r.Store.GetByHW(hw, sid); ok && len(hw) > 0 {
			out = append(out, l)
		}
		if l, ok := r.Store.GetByClientID(cid, sid); ok && len(cid) > 0 {
			out = append(out, l)
		}
	}
	return out, true
}

func (c *condStore) UpdateFrom(old, nl *lease.Lease) error {
	if f := c.before; f != nil {
		c.before = nil
		f()
	}
	if cur, ok := c.Store.Get(nl.Addr); !ok || cur.Expire() != old.Expire() {
		return lease.ErrConflict
	}
	return c.Store.Update(nl)
}

func (c *condStore) DeleteFrom(old *lease.Lease) error {
	if cur, ok := c.Store.Get(old.Addr); !ok || cur.Expire() != old.Expire() {
		return lease.ErrConflict
	}
	_, err := c.Store.Delete(old.Addr)
	return err
}

func newCondEnv(t *testing.T, withRows bool) (*env, *condStore) {
	var cs *condStore
	v := newEnv(t, baseConfig, func(d *Deps) {
		cs = &condStore{Store: d.Store.(*lease.Store)}
		d.Store = cs
		if withRows {
			d.Store = rowsStore{cs}
		}
	})
	return v, cs
}

// TestConditionalStoreReadsOnce: over a conditional store a REQUEST reads
// the requested address once (requestAddress; the commit reuses the row),
// and a client renewing its own lease not at all beyond clientLease.
// With ClientRows (pgsql) the REQUEST's reads are that one call.
func TestConditionalStoreReadsOnce(t *testing.T) {
	for _, withRows := range []bool{false, true} {
		v, cs := newCondEnv(t, withRows)
		hw := mac(1)
		off := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, hw)))
		a := addrOf(off.Msg.YourIPAddr)
		want := [2][3]int{{1, 1, 0}, {0, 1, 0}} // Gets, GetByHWs, ClientRows: new lease, renewal
		if withRows {
			want = [2][3]int{{0, 0, 1}, {0, 0, 1}}
		}
		for i, what := range []string{"new lease", "renewal"} {
			cs.gets, cs.byHW, cs.rows = 0, 0, 0
			if r := v.request(hw, a); r.MessageType() != dhcpv4.MessageTypeAck {
				t.Fatalf("ClientRows %v, %s: %v", withRows, what, r.MessageType())
			}
			if got := [3]int{cs.gets, cs.byHW, cs.rows}; got != want[i] {
				t.Errorf("ClientRows %v, %s: Get, GetByHW, ClientRows calls %v, want %v", withRows, what, got, want[i])
			}
			if l, _ := cs.Store.Get(a); l == nil || l.CLTT != v.clock().Unix() {
				t.Errorf("ClientRows %v, %s: lease %+v", withRows, what, l)
			}
			v.advance(100)
		}
	}
}

// TestConditionalStoreStaleRowReadAgain: the row a REQUEST read changed
// before its write. The write is refused and decided again on a fresh
// read: still the client's lease → ACK with the new lease; now another
// client's live lease → NAK, the other lease untouched.
func TestConditionalStoreStaleRowReadAgain(t *testing.T) {
	for _, withRows := range []bool{false, true} {
		staleRowReadAgain(t, withRows)
	}
}

func staleRowReadAgain(t *testing.T, withRows bool) {
	v, cs := newCondEnv(t, withRows)
	hw := mac(1)
	a := addrOf(v.dora(hw).YourIPAddr)
	v.advance(100)
	cs.before = func() {
		l, _ := cs.Store.Get(a)
		l = l.Clone()
		l.CLTT += 7 // renewed meanwhile (another server)
		if err := cs.Store.Update(l); err != nil {
			t.Fatal(err)
		}
	}
	if r := v.request(hw, a); r.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("REQUEST after a concurrent renewal: %v, want ACK", r.MessageType())
	}
	if l, _ := cs.Store.Get(a); l == nil || l.CLTT != v.clock().Unix() {
		t.Errorf("lease after the retried write: %+v", l)
	}

	v.advance(100)
	other := mac(2)
	cs.before = func() {
		l, _ := cs.Store.Get(a)
		l = l.Clone()
		l.HWAddr, l.ClientID, l.CLTT = other, nil, l.CLTT+3
		if err := cs.Store.Update(l); err != nil {
			t.Fatal(err)
		}
	}
	if r := v.request(hw, a); r.MessageType() != dhcpv4.MessageTypeNak {
		t.Fatalf("REQUEST after another client took the address: %v, want NAK", r.MessageType())
	}
	if l, _ := cs.Store.Get(a); l == nil || l.HWAddr.String() != other.String() {
		t.Errorf("the other client's lease was overwritten: %+v", l)
	}
}

// TestDiscoverPrefetch: with ClientRows a DISCOVER reads once (the
// client's lease and the first pool candidate), and the addresses offered
// are those offered without it: a returning client gets its lease and the
// candidate picked for it is given back to the next new client.
func TestDiscoverPrefetch(t *testing.T) {
	offers := func(withRows bool) ([]netip.Addr, *condStore) {
		v, cs := newCondEnv(t, withRows)
		var got []netip.Addr
		offer := func(hw []byte) {
			off := v.handle(broadcastReq(msg(t, dhcpv4.MessageTypeDiscover, hw)))
			if off == nil || off.Msg == nil {
				t.Fatalf("no OFFER for %x", hw)
			}
			got = append(got, addrOf(off.Msg.YourIPAddr))
		}
		v.dora(mac(1))
		v.dora(mac(2))
		cs.gets, cs.byHW, cs.rows = 0, 0, 0
		offer(mac(1)) // its lease
		offer(mac(3)) // new: the next address
		offer(mac(3))
		offer(mac(2))
		return got, cs
	}
	plain, _ := offers(false)
	pre, cs := offers(true)
	if !reflect.DeepEqual(plain, pre) {
		t.Errorf("offers with ClientRows %v, without %v", pre, plain)
	}
	if got := [3]int{cs.gets, cs.byHW, cs.rows}; got != [3]int{0, 0, 4} {
		t.Errorf("4 DISCOVERs: Get, GetByHW, ClientRows calls %v, want [0 0 4]", got)
	}
}
