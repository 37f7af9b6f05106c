package afxdp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf/link"

	"github.com/xdhcp/xdhcp/internal/testenv"
)

// smallCfg has 32 RX and 32 TX frames, so 1000 datagrams wrap every ring
// many times and exhaust the TX free list.
var smallCfg = Config{NumFrames: 64, FillRingSize: 32, CompRingSize: 32, RxRingSize: 32, TxRingSize: 32}

// seqChecker validates client datagrams seen by the server and records
// their sequence numbers, refusing duplicates.
type seqChecker struct{ seen []bool }

func (c *seqChecker) check(frame []byte) error {
	p, err := parseUDP(frame)
	if err != nil {
		return err
	}
	if len(p) < 4 {
		return fmt.Errorf("payload of %d bytes", len(p))
	}
	seq := binary.BigEndian.Uint32(p)
	if int(seq) >= len(c.seen) || c.seen[seq] {
		return fmt.Errorf("unexpected or duplicate sequence %d", seq)
	}
	if string(p) != string(payload(seq)) {
		return fmt.Errorf("sequence %d: payload %x", seq, p)
	}
	c.seen[seq] = true
	return nil
}

func (c *seqChecker) count() int {
	n := 0
	for _, s := range c.seen {
		if s {
			n++
		}
	}
	return n
}

// waitTxIdle flushes and reaps until every TX frame is back in the free
// list, failing after a bounded wait.
func waitTxIdle(t *testing.T, s *Socket) {
	t.Helper()
	want := len(s.state) - int(s.rxFrames)
	for deadline := time.Now().Add(5 * time.Second); len(s.txFreeList) != want; {
		if time.Now().After(deadline) {
			t.Fatalf("tx frames leaked: %d of %d free, %d unconsumed", len(s.txFreeList), want, s.tx.unconsumed())
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestEcho(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mode   link.XDPAttachFlags
		cfg    Config
		window int
	}{
		{"default", 0, Config{}, 64},
		{"small umem", 0, smallCfg, 16},
		{"copy without need-wakeup", 0, Config{Copy: true, DisableNeedWakeup: true}, 64},
		{"generic xdp", link.XDPGenericMode, Config{}, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := newTestNetMode(t, tc.mode)
			s := tn.openServer(t, tc.cfg)
			if s.ZeroCopy() {
				t.Errorf("zero-copy on veth")
			}
			c := tn.dialClient(t)

			const total = 1000
			rx := &seqChecker{seen: make([]bool, total)}
			back := &seqChecker{seen: make([]bool, total)}
			descs := make([]Desc, 64)
			rbuf := make([]byte, 2048)
			deadline := time.Now().Add(60 * time.Second)
			if err := c.SetReadDeadline(deadline); err != nil {
				t.Fatal(err)
			}
			for base := 0; base < total; base += tc.window {
				k := min(tc.window, total-base)
				for i := range k {
					if _, err := c.WriteToUDP(payload(uint32(base+i)), serverEcho); err != nil {
						t.Fatalf("client send %d: %v", base+i, err)
					}
				}
				// Every datagram of the window reaches the socket and is echoed.
				for got := 0; got < k; {
					if time.Now().After(deadline) {
						t.Fatalf("received %d of %d datagrams", rx.count(), base+k)
					}
					if _, err := s.Poll(100 * time.Millisecond); err != nil {
						t.Fatal(err)
					}
					n, err := echo(s, descs, rx.check)
					if err != nil {
						t.Fatalf("echo: %v", err)
					}
					got += n
				}
				// Every echo reaches the client socket.
				for range k {
					n, from, err := c.ReadFromUDPAddrPort(rbuf)
					if err != nil {
						t.Fatalf("client received %d of %d echoes: %v", back.count(), base+k, err)
					}
					if from != serverEcho.AddrPort() {
						t.Fatalf("echo from %s", from)
					}
					seq := binary.BigEndian.Uint32(rbuf)
					if n < 4 || int(seq) >= total || back.seen[seq] || string(rbuf[:n]) != string(payload(seq)) {
						t.Fatalf("bad echo %x", rbuf[:n])
					}
					back.seen[seq] = true
				}
			}
			waitTxIdle(t, s)
			st, err := s.Stats()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("stats: %+v", st)
			if st.RxPackets != total || st.TxPackets != total || st.TxCompleted != total {
				t.Errorf("rx %d tx %d completed %d, want %d each", st.RxPackets, st.TxPackets, st.TxCompleted, total)
			}
			if st.InvalidRelease+st.InvalidSubmit+st.UnexpectedFrames+st.TxInvalidDescs+st.RxInvalidDescs+st.TxNoFrame != 0 {
				t.Errorf("error counters set: %+v", st)
			}
			if st.TxKicks == 0 {
				t.Errorf("copy mode sent without kicks")
			}
		})
	}
}

// TestTwoQueues binds one socket per RX queue of a two-queue veth; flows
// from many client sockets spread over both queues and every datagram
// reaches exactly one socket.
func TestTwoQueues(t *testing.T) {
	tn := newTestNet(t, "numrxqueues", "2", "numtxqueues", "2")
	socks := []*Socket{tn.openServer(t, Config{QueueID: 0}), tn.openServer(t, Config{QueueID: 1})}
	const flows, perRound, rounds = 16, 4, 16
	clients := make([]*net.UDPConn, flows)
	for i := range clients {
		clients[i] = tn.dialClient(t)
	}
	total := flows * perRound * rounds
	rx := &seqChecker{seen: make([]bool, total)}
	perQueue := make([]int, len(socks))
	descs := make([]Desc, 64)
	deadline := time.Now().Add(60 * time.Second)
	seq := uint32(0)
	for range rounds {
		for _, c := range clients {
			for range perRound {
				if _, err := c.WriteToUDP(payload(seq), serverEcho); err != nil {
					t.Fatal(err)
				}
				seq++
			}
		}
		for rx.count() < int(seq) {
			if time.Now().After(deadline) {
				t.Fatalf("received %d of %d (per queue %v)", rx.count(), seq, perQueue)
			}
			idle := true
			for q, s := range socks {
				n, err := s.Receive(descs)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range descs[:n] {
					if err := rx.check(s.Frame(d)); err != nil {
						t.Fatalf("queue %d: %v", q, err)
					}
				}
				s.Release(descs[:n])
				perQueue[q] += n
				idle = idle && n == 0
			}
			if idle {
				time.Sleep(time.Millisecond)
			}
		}
	}
	t.Logf("per queue: %v", perQueue)
	for q, n := range perQueue {
		if n == 0 {
			t.Errorf("queue %d received nothing: flows did not spread (per queue %v)", q, perQueue)
		}
	}
}

// TestFrameOwnership checks that frames the caller does not own are never
// handed to the kernel, and that TX exhaustion is reported, not hidden.
func TestFrameOwnership(t *testing.T) {
	tn := newTestNet(t)
	s := tn.openServer(t, smallCfg)
	c := tn.dialClient(t)
	descs := make([]Desc, 8)
	recv := func(want int) []Desc {
		t.Helper()
		for i := range want {
			if _, err := c.WriteToUDP(payload(uint32(i)), serverEcho); err != nil {
				t.Fatal(err)
			}
		}
		got := 0
		for deadline := time.Now().Add(10 * time.Second); got < want; {
			if time.Now().After(deadline) {
				t.Fatalf("received %d of %d", got, want)
			}
			if _, err := s.Poll(100 * time.Millisecond); err != nil {
				t.Fatal(err)
			}
			n, err := s.Receive(descs[got:])
			if err != nil {
				t.Fatal(err)
			}
			got += n
		}
		return descs[:got]
	}

	// Double release: ignored and counted; RX keeps working.
	rxd := recv(4)
	rxAddr := rxd[0].Addr
	s.Release(rxd)
	s.Release(rxd)
	for range 3 { // more than the 32 RX frames: a leaked or doubled frame shows
		s.Release(recv(8))
		s.Release(recv(8))
	}

	// Submit misuse is refused.
	buf, addr, ok := s.TxBuffer()
	if !ok || len(buf) != DefaultFrameSize {
		t.Fatalf("TxBuffer = %d bytes, %v", len(buf), ok)
	}
	for _, bad := range []struct {
		addr uint64
		n    int
	}{{addr, 0}, {addr, DefaultFrameSize + 1}, {addr + 1, 10}, {rxAddr &^ (DefaultFrameSize - 1), 10}, {1 << 40, 10}} {
		if err := s.Submit(bad.addr, bad.n); !errors.Is(err, ErrFrameState) {
			t.Errorf("Submit(%#x, %d) = %v, want ErrFrameState", bad.addr, bad.n, err)
		}
	}
	// Nothing was published by the failed submits; now send one real frame.
	copy(buf, frameFor(tn, 1))
	if err := s.Submit(addr, 60); err != nil {
		t.Fatal(err)
	}
	if err := s.Submit(addr, 60); !errors.Is(err, ErrFrameState) {
		t.Errorf("second Submit = %v, want ErrFrameState", err)
	}
	if err := s.FreeTxBuffer(addr); !errors.Is(err, ErrFrameState) {
		t.Errorf("FreeTxBuffer of a submitted frame = %v, want ErrFrameState", err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	waitTxIdle(t, s)

	// Exhaust the TX frames without submitting: no frame is handed out twice.
	var held []uint64
	got := map[uint64]bool{}
	for {
		_, a, ok := s.TxBuffer()
		if !ok {
			break
		}
		if got[a] {
			t.Fatalf("tx frame %#x handed out twice", a)
		}
		got[a] = true
		held = append(held, a)
	}
	if len(held) != 32 {
		t.Fatalf("%d tx frames, want 32", len(held))
	}
	if err := s.Send(frameFor(tn, 2)); !errors.Is(err, ErrNoTxFrame) {
		t.Fatalf("Send with every frame held = %v, want ErrNoTxFrame", err)
	}
	for _, a := range held {
		if err := s.FreeTxBuffer(a); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.FreeTxBuffer(held[0]); !errors.Is(err, ErrFrameState) {
		t.Errorf("double FreeTxBuffer = %v", err)
	}
	if err := s.Send(frameFor(tn, 3)); err != nil {
		t.Fatal(err)
	}
	waitTxIdle(t, s)

	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.InvalidRelease != 4 || st.TxNoFrame != 1 || st.InvalidSubmit != 8 || st.TxPackets != 2 || st.TxCompleted != 2 {
		t.Errorf("stats %+v: want InvalidRelease 4, TxNoFrame 1, InvalidSubmit 8, TxPackets 2, TxCompleted 2", st)
	}
	if st.UnexpectedFrames != 0 || st.TxInvalidDescs != 0 {
		t.Errorf("stats %+v", st)
	}
}

// frameFor builds a server-to-client echo reply frame carrying payload(seq).
func frameFor(tn *testNet, seq uint32) []byte {
	p := payload(seq)
	f := make([]byte, 42+len(p))
	copy(f[0:6], tn.srvMAC) // swapped by makeEcho
	copy(f[6:12], []byte{0x02, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(p)))
	ip[9] = 17
	copy(ip[12:16], clientAddr.AsSlice())
	copy(ip[16:20], serverAddr.AsSlice())
	binary.BigEndian.PutUint16(f[34:], 40000)
	binary.BigEndian.PutUint16(f[36:], echoPort)
	binary.BigEndian.PutUint16(f[38:], uint16(8+len(p)))
	copy(f[42:], p)
	makeEcho(f)
	return f
}

// TestOpenErrors: a bad bind fails cleanly and leaks nothing.
func TestOpenErrors(t *testing.T) {
	testenv.RequireRoot(t)
	ns := testenv.NewNetns(t)
	a := testenv.Name("xa")
	testenv.Veth(t, ns, a, "", ns, testenv.Name("xb"), "")
	var ifindex int
	if err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(a)
		if err == nil {
			ifindex = ifi.Index
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	before := countFDs(t)
	err := ns.Do(func() error {
		_, err := Open(Config{IfIndex: ifindex, QueueID: 7})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "bind") {
		t.Fatalf("Open on a missing queue = %v, want a bind error", err)
	}
	if after := countFDs(t); after != before {
		t.Errorf("failed Open leaked %d fds", after-before)
	}
}

// TestOpenCloseNoLeak opens and closes 50 sockets (8 MiB UMEM each) and
// checks that no fd or mapping is left behind, and that a closed socket
// refuses use.
func TestOpenCloseNoLeak(t *testing.T) {
	testenv.RequireRoot(t)
	ns := testenv.NewNetns(t)
	a := testenv.Name("xa")
	testenv.Veth(t, ns, a, "", ns, testenv.Name("xb"), "")
	var ifindex int
	if err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(a)
		if err == nil {
			ifindex = ifi.Index
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	open := func() *Socket {
		var s *Socket
		if err := ns.Do(func() error {
			var err error
			s, err = Open(Config{IfIndex: ifindex, Copy: true})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	// Warm up whatever the runtime and unix.Mmap allocate once.
	if err := open().Close(); err != nil {
		t.Fatal(err)
	}
	fds, vm, threads := countFDs(t), procStatus(t, "VmSize"), procStatus(t, "Threads")
	for i := range 50 {
		s := open()
		if err := s.Close(); err != nil {
			t.Fatalf("close %d: %v", i, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second close %d: %v", i, err)
		}
		if _, err := s.Receive(make([]Desc, 1)); !errors.Is(err, ErrClosed) {
			t.Fatalf("Receive after Close = %v", err)
		}
		if _, err := s.Stats(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Stats after Close = %v", err)
		}
		if _, _, ok := s.TxBuffer(); ok {
			t.Fatal("TxBuffer after Close")
		}
		if err := s.Flush(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Flush after Close = %v", err)
		}
	}
	if d := countFDs(t) - fds; d != 0 {
		t.Errorf("%d fds leaked over 50 open/close", d)
	}
	// One leaked UMEM would be 8 MiB (400 MiB over the loop); allow the
	// Go runtime some growth, plus what each OS thread the runtime started
	// meanwhile reserves: its 8 MiB stack and, in a cgo binary, a 64 MiB
	// glibc malloc arena (the runtime starts threads while a locked one
	// sits in a long mmap; that, not a leak, was the +72 MiB seen before).
	newThreads := max(procStatus(t, "Threads")-threads, 0)
	allowed := 8<<20 + newThreads*(72<<20+64<<10)
	d := procStatus(t, "VmSize") - vm
	t.Logf("virtual memory %+d KiB, %d new threads", d>>10, newThreads)
	if d >= allowed {
		t.Errorf("virtual memory grew by %d KiB over 50 open/close (%d new threads)", d>>10, newThreads)
	}
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// procStatus is a field of /proc/self/status: VmSize in bytes, Threads
// as a count.
func procStatus(t *testing.T, field string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			v, kb := strings.CutSuffix(strings.TrimSpace(v), "kB")
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			if kb {
				n <<= 10
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
