package afxdp

import (
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// testRingMem lays a ring out like the kernel does (indexes on separate
// cache lines, entries after them) in ordinary memory.
func testRingMem(n uint32, entry uint64) ([]byte, unix.XDPRingOffset) {
	off := unix.XDPRingOffset{Producer: 0, Consumer: 64, Flags: 128, Desc: 192}
	return make([]byte, off.Desc+uint64(n)*entry), off
}

func TestRingWrapAround(t *testing.T) {
	mem, off := testRingMem(8, addrEntrySize)
	var prod, cons ring[uint64]
	if err := initRing(&prod, mem, off, 8, addrsAt, true); err != nil {
		t.Fatal(err)
	}
	if err := initRing(&cons, mem, off, 8, addrsAt, false); err != nil {
		t.Fatal(err)
	}
	next := uint64(0)
	want := uint64(0)
	// Many laps with uneven batch sizes cross the index wrap at 2^32 only
	// in theory; start near it to cross it in practice.
	start := uint32(1<<32 - 20)
	*prod.producer, *prod.consumer = start, start
	prod.local, cons.local = start, start
	for lap := 0; lap < 100; lap++ {
		if got := prod.free(); got != 8 {
			t.Fatalf("lap %d: free = %d, want 8", lap, got)
		}
		k := uint32(lap%8 + 1)
		for range k {
			prod.put(next)
			next++
		}
		if cons.available() != 0 {
			t.Fatal("entries visible before publish")
		}
		prod.publish()
		if got := cons.available(); got != k {
			t.Fatalf("lap %d: available = %d, want %d", lap, got, k)
		}
		if got := prod.unconsumed(); got != k {
			t.Fatalf("lap %d: unconsumed = %d, want %d", lap, got, k)
		}
		for range k {
			if v := cons.get(); v != want {
				t.Fatalf("lap %d: got %d, want %d", lap, v, want)
			}
			want++
		}
		cons.release()
		if prod.unconsumed() != 0 {
			t.Fatalf("lap %d: unconsumed after release", lap)
		}
	}
}

func TestRingNeedWakeup(t *testing.T) {
	mem, off := testRingMem(4, descEntrySize)
	var r ring[unix.XDPDesc]
	if err := initRing(&r, mem, off, 4, descsAt, true); err != nil {
		t.Fatal(err)
	}
	if r.needWakeup() {
		t.Fatal("needWakeup with flags 0")
	}
	atomic.StoreUint32(r.flags, unix.XDP_RING_NEED_WAKEUP)
	if !r.needWakeup() {
		t.Fatal("no needWakeup with XDP_RING_NEED_WAKEUP set")
	}
}

func TestRingBadLayout(t *testing.T) {
	mem, off := testRingMem(4, addrEntrySize)
	var r ring[uint64]
	if err := initRing(&r, mem, off, 8, addrsAt, true); err == nil {
		t.Fatal("ring larger than its mapping accepted")
	}
	if err := initRing(&r, mem, off, 3, addrsAt, true); err == nil {
		t.Fatal("ring size 3 accepted")
	}
	bad := off
	bad.Consumer = 62
	if err := initRing(&r, mem, bad, 4, addrsAt, true); err == nil {
		t.Fatal("misaligned consumer index accepted")
	}
}

// TestRingConcurrent runs a producer and a consumer goroutine on one ring,
// as user space and the kernel do; with -race it checks the ordering.
func TestRingConcurrent(t *testing.T) {
	const n = 20000
	mem, off := testRingMem(64, descEntrySize)
	var prod, cons ring[unix.XDPDesc]
	if err := initRing(&prod, mem, off, 64, descsAt, true); err != nil {
		t.Fatal(err)
	}
	if err := initRing(&cons, mem, off, 64, descsAt, false); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := uint64(0); i < n; {
			f := prod.free()
			for ; f > 0 && i < n; f-- {
				prod.put(unix.XDPDesc{Addr: i, Len: uint32(i)})
				i++
			}
			prod.publish()
		}
	}()
	for want := uint64(0); want < n; {
		for a := cons.available(); a > 0; a-- {
			d := cons.get()
			if d.Addr != want || d.Len != uint32(want) {
				t.Errorf("got %+v, want addr %d", d, want)
				wg.Wait()
				return
			}
			want++
		}
		cons.release()
	}
	wg.Wait()
}
