package pipeline

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/lease"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// TestCommitOrder: an ACK whose lease goes to the HA partner is not sent
// before the partner answered; after a success it is sent (and counted)
// once; after a failure it is dropped and counted, never sent.
func TestCommitOrder(t *testing.T) {
	reg := stats.New()
	rep := &heldReplicator{}
	p := newPipeline(t, Config{Stats: reg, Replicator: rep}, &offerEngine{})
	out := &sink{}
	woken := 0
	w := p.NewWorker(out, func() { woken++ })

	w.Process(msg(t, dhcpv4.MessageTypeDiscover, 1, 1, 0), &Meta{}) // offers commit nothing
	if got := out.sent(); len(got) != 1 || rep.calls != 0 {
		t.Fatalf("offer: sent %v, replicate calls %d", got, rep.calls)
	}
	w.Process(msg(t, dhcpv4.MessageTypeRequest, 1, 2, 0xac), &Meta{})
	w.Process(msg(t, dhcpv4.MessageTypeRequest, 2, 3, 0xac), &Meta{})
	if rep.held() != 2 || len(out.sent()) != 1 || p.Parked() != 2 {
		t.Fatalf("ACKs left before the partner answered: sent %v, held %d, parked %d", out.sent(), rep.held(), p.Parked())
	}
	wantStats(t, reg, map[string]int64{"pkt4-ack-sent": 0})

	rep.settle(1, nil)
	if woken != 1 {
		t.Fatalf("wake called %d times, want 1", woken)
	}
	if len(out.sent()) != 1 {
		t.Fatal("a completed reply was sent outside the owner's Complete")
	}
	if n := w.Complete(); n != 1 {
		t.Fatalf("Complete finished %d, want 1", n)
	}
	rep.settle(1, errors.New("partner said no"))
	w.Complete()
	if got := out.sent(); len(got) != 2 || got[1] != 2 {
		t.Fatalf("sent %v, want the offer and the first ACK only", got)
	}
	if p.Parked() != 0 {
		t.Fatalf("parked %d after both settled", p.Parked())
	}
	wantStats(t, reg, map[string]int64{"pkt4-ack-sent": 1, "pkt4-sent": 2, StatHASync: 1, "pkt4-receive-drop": 1})
}

// TestParkedLimit follows Kea 2.2's dhcp4_srv.cc (parking lot full): the
// reply over the limit is dropped and counted before its update is sent.
func TestParkedLimit(t *testing.T) {
	reg := stats.New()
	rep := &heldReplicator{}
	p := newPipeline(t, Config{Stats: reg, Replicator: rep, ParkedLimit: 2}, &offerEngine{})
	w := p.NewWorker(&sink{}, func() {})
	for c := range byte(3) {
		w.Process(msg(t, dhcpv4.MessageTypeRequest, 10+c, 20+c, 0xac), &Meta{})
	}
	if rep.calls != 2 || p.Parked() != 2 {
		t.Fatalf("replicate calls %d, parked %d; want 2 and 2", rep.calls, p.Parked())
	}
	wantStats(t, reg, map[string]int64{StatParkingFull: 1, "pkt4-receive-drop": 1})
	rep.settle(2, nil)
	w.Complete()
	p.SetParkedLimit(0) // unlimited
	for c := range byte(5) {
		w.Process(msg(t, dhcpv4.MessageTypeRequest, 30+c, 40+c, 0xac), &Meta{})
	}
	if p.Parked() != 5 {
		t.Fatalf("parked %d with no limit, want 5", p.Parked())
	}
}

// TestClientSerialised: a query from a client whose reply is pending waits
// behind it (the newest one only, as Kea's client handler keeps one) and
// runs once the pending reply is finished.
func TestClientSerialised(t *testing.T) {
	reg := stats.New()
	rep := &heldReplicator{}
	eng := &offerEngine{}
	p := newPipeline(t, Config{Stats: reg, Replicator: rep}, eng)
	out := &sink{}
	w := p.NewWorker(out, func() {})
	w.Process(msg(t, dhcpv4.MessageTypeRequest, 7, 1, 0xac), &Meta{})
	w.Process(msg(t, dhcpv4.MessageTypeRequest, 7, 2, 0xac), &Meta{}) // retransmission: held
	w.Process(msg(t, dhcpv4.MessageTypeRequest, 7, 3, 0xac), &Meta{}) // newer: replaces it
	if eng.calls.Load() != 1 || rep.calls != 1 {
		t.Fatalf("engine ran %d times, replicate %d; the held queries must wait", eng.calls.Load(), rep.calls)
	}
	wantStats(t, reg, map[string]int64{StatClientBusy: 1, "pkt4-received": 3})
	rep.settle(1, nil)
	w.Complete() // sends xid 1, then runs xid 3, which parks again
	if eng.calls.Load() != 2 || rep.held() != 1 {
		t.Fatalf("after completion: engine ran %d, held %d; want the newest query run", eng.calls.Load(), rep.held())
	}
	rep.settle(1, nil)
	w.Complete()
	if got := out.sent(); len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Fatalf("sent %v, want xids 1 then 3", got)
	}
	// Another client is never held behind this one.
	w.Process(msg(t, dhcpv4.MessageTypeRequest, 7, 4, 0xac), &Meta{})
	w.Process(msg(t, dhcpv4.MessageTypeRequest, 8, 5, 0xac), &Meta{})
	if rep.held() != 2 {
		t.Fatalf("held %d, want two clients pending at once", rep.held())
	}
}

// TestCloseDropsPending: after Close a reply whose update completes is
// dropped and counted, never sent.
func TestCloseDropsPending(t *testing.T) {
	reg := stats.New()
	rep := &heldReplicator{}
	p := newPipeline(t, Config{Stats: reg, Replicator: rep}, &offerEngine{})
	out := &sink{}
	w := p.NewWorker(out, func() {})
	w.Process(msg(t, dhcpv4.MessageTypeRequest, 1, 1, 0xac), &Meta{})
	if p.Drain(20 * time.Millisecond) {
		t.Fatal("Drain reported nothing pending")
	}
	p.Close()
	rep.settle(1, nil)
	w.Complete()
	if len(out.sent()) != 0 || p.Parked() != 0 {
		t.Fatalf("sent %v after Close, parked %d", out.sent(), p.Parked())
	}
	wantStats(t, reg, map[string]int64{StatPendingAtClose: 1, "pkt4-sent": 0})
}

// TestReleasedWorkerDropsPending: once a transport released its worker
// (its goroutine and socket are gone), replies completed before or after
// are dropped and counted, never sent, and no longer count as parked.
func TestReleasedWorkerDropsPending(t *testing.T) {
	reg := stats.New()
	rep := &heldReplicator{}
	p := newPipeline(t, Config{Stats: reg, Replicator: rep}, &offerEngine{})
	out := &sink{}
	w := p.NewWorker(out, func() {})
	w.Process(msg(t, dhcpv4.MessageTypeRequest, 1, 1, 0xac), &Meta{})
	w.Process(msg(t, dhcpv4.MessageTypeRequest, 2, 2, 0xac), &Meta{})
	rep.settle(1, nil) // completed, waiting for a Complete that never comes
	p.Release(w)
	rep.settle(1, nil) // completes after the release
	if len(out.sent()) != 0 || p.Parked() != 0 {
		t.Fatalf("sent %v after Release, parked %d", out.sent(), p.Parked())
	}
	wantStats(t, reg, map[string]int64{StatPendingAtClose: 2, "pkt4-sent": 0})
}

// TestNoWakeSendsInline: a worker without a wake function (the UDP
// transport) sends a completed reply from the completing goroutine.
func TestNoWakeSendsInline(t *testing.T) {
	rep := &heldReplicator{}
	p := newPipeline(t, Config{Stats: stats.New(), Replicator: rep}, &offerEngine{})
	out := &sink{}
	w := p.NewWorker(out, nil)
	w.Process(msg(t, dhcpv4.MessageTypeRequest, 1, 9, 0xac), &Meta{})
	go rep.settle(1, nil)
	deadline := time.Now().Add(5 * time.Second)
	for len(out.sent()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := out.sent(); len(got) != 1 || got[0] != 9 {
		t.Fatalf("sent %v", got)
	}
}

// TestPendingCostsNoGoroutine: thousands of replies waiting for the
// partner hold records, not goroutines.
func TestPendingCostsNoGoroutine(t *testing.T) {
	rep := &heldReplicator{}
	p := newPipeline(t, Config{Stats: stats.New(), Replicator: rep}, &offerEngine{})
	w := p.NewWorker(&sink{}, func() {})
	before := runtime.NumGoroutine()
	for i := range 2000 {
		m, _ := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
			dhcpv4.WithHwAddr([]byte{2, 0, 0, 0, byte(i >> 8), byte(i)}),
			dhcpv4.WithTransactionID(dhcpv4.TransactionID{1, 0xac, 0, 0}))
		w.Process(m.ToBytes(), &Meta{})
	}
	if p.Parked() != 2000 {
		t.Fatalf("parked %d, want 2000", p.Parked())
	}
	if after := runtime.NumGoroutine(); after > before+2 {
		t.Fatalf("goroutines %d -> %d with 2000 replies pending", before, after)
	}
	rep.settle(2000, nil)
	w.Complete()
}

// TestReloadMakesNoShards: 100 engine swaps build engine workers over the
// workers' own shards: the registry's shard count and the heap stay flat.
func TestReloadMakesNoShards(t *testing.T) {
	reg := stats.New()
	p := newPipeline(t, Config{Stats: reg}, &offerEngine{})
	var ws []*Worker
	for range 4 {
		ws = append(ws, p.NewWorker(&sink{}, nil))
	}
	data := discover(t, nil, 1, false)
	for _, w := range ws {
		w.Process(data, &Meta{})
	}
	shards := reg.Shards()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap := ms.HeapAlloc
	var last *offerEngine
	for range 100 {
		last = &offerEngine{}
		p.SetEngine(last)
		for _, w := range ws {
			w.Process(data, &Meta{})
		}
	}
	if reg.Shards() != shards {
		t.Fatalf("shards %d -> %d after 100 reloads", shards, reg.Shards())
	}
	if last.made.Load() != int64(len(ws)) {
		t.Fatalf("last engine built %d workers, want one per pipeline worker (%d)", last.made.Load(), len(ws))
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > heap+1<<20 {
		t.Fatalf("heap %d -> %d bytes after 100 reloads", heap, ms.HeapAlloc)
	}
}

// supersedeAll is an Orderer for which a later commit superseded every
// change (dhcp.CommitOrder's verdict when another worker's newer commit of
// the address was handed on first); it records whether Replicate ran
// inside Fresh, where the addresses are held.
type supersedeAll struct{ inside, calls int }

func (o *supersedeAll) Fresh(_ []lease.Change, fn func([]lease.Change)) {
	o.calls++
	fn(nil)
	o.inside++
}

// nothingToSend answers as ha.Service.Replicate does for no changes: done
// at once, with nil.
type nothingToSend struct{ got [][]lease.Change }

func (r *nothingToSend) Replicate(ch []lease.Change, done func(error)) {
	r.got = append(r.got, ch)
	done(nil)
}

// TestOrderSupersededStillAnswers: with an Orderer the pipeline hands the
// Replicator only what the Orderer found fresh, from inside Fresh; a reply
// whose every change was superseded is still answered (its lease was
// committed; the newer commit's update carries the address's state).
func TestOrderSupersededStillAnswers(t *testing.T) {
	reg := stats.New()
	rep, ord := &nothingToSend{}, &supersedeAll{}
	p := newPipeline(t, Config{Stats: reg, Replicator: rep, Order: ord}, &offerEngine{})
	out := &sink{}
	w := p.NewWorker(out, nil)
	w.Process(msg(t, dhcpv4.MessageTypeRequest, 1, 2, 0xac), &Meta{})
	if ord.calls != 1 || ord.inside != 1 || len(rep.got) != 1 || len(rep.got[0]) != 0 {
		t.Fatalf("orderer calls %d, replicate calls %v", ord.calls, rep.got)
	}
	if got := out.sent(); len(got) != 1 || got[0] != 2 {
		t.Fatalf("sent %v, want the ACK", got)
	}
	if p.Parked() != 0 {
		t.Fatalf("parked %d", p.Parked())
	}
	wantStats(t, reg, map[string]int64{"pkt4-ack-sent": 1})
}
