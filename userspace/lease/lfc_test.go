package lease

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"testing"
)

func TestLFCFiles(t *testing.T) {
	p := tempPath(t)
	s, _ := openT(t, Options{Path: p, Persist: true})
	must(t, s.Add(mk("192.0.2.3", "02:00:00:00:00:03", 1, 100, 60)))
	must(t, s.Add(mk("192.0.2.1", "02:00:00:00:00:01", 1, 100, 60)))
	must(t, s.Add(mk("192.0.2.2", "02:00:00:00:00:02", 1, 100, 60)))
	must(t, s.Update(mk("192.0.2.1", "02:00:00:00:00:01", 1, 200, 60)))
	_, err := s.Delete(netip.MustParseAddr("192.0.2.2"))
	must(t, err)
	must(t, s.RunLFC())
	want2 := Header + "\n" +
		"192.0.2.1,02:00:00:00:00:01,,60,260,1,0,0,,0,\n" +
		"192.0.2.3,02:00:00:00:00:03,,60,160,1,0,0,,0,\n"
	if got := readFile(t, p+".2"); got != want2 {
		t.Fatalf(".2 =\n%s\nwant\n%s", got, want2)
	}
	if got := readFile(t, p); got != Header+"\n" {
		t.Fatalf("current = %q", got)
	}
	for _, suf := range []string{".1", ".output", ".completed", ".pid"} {
		if _, err := os.Stat(p + suf); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists after LFC", suf)
		}
	}
	// Appends go to the fresh current file; a second LFC merges .2 and .1.
	must(t, s.Add(mk("192.0.2.4", "02:00:00:00:00:04", 1, 100, 60)))
	_, err = s.Delete(netip.MustParseAddr("192.0.2.3"))
	must(t, err)
	if got := readFile(t, p); got != Header+"\n192.0.2.4,02:00:00:00:00:04,,60,160,1,0,0,,0,\n192.0.2.3,02:00:00:00:00:03,,0,100,1,0,0,,0,\n" {
		t.Fatalf("current after LFC = %q", got)
	}
	before := s.All()
	must(t, s.RunLFC())
	want2 = Header + "\n" +
		"192.0.2.1,02:00:00:00:00:01,,60,260,1,0,0,,0,\n" +
		"192.0.2.4,02:00:00:00:00:04,,60,160,1,0,0,,0,\n"
	if got := readFile(t, p+".2"); got != want2 {
		t.Fatalf(".2 after second LFC =\n%s\nwant\n%s", got, want2)
	}
	s.Close()
	s2, _ := openT(t, Options{Path: p, Persist: true})
	sameLeases(t, s2.All(), before)
}

func TestLFCUnfinished(t *testing.T) {
	r := func(a string, cltt int) string {
		return fmt.Sprintf("%s,02:00:00:00:00:01,,60,%d,1,0,0,,0,\n", a, cltt+60)
	}
	tests := []struct {
		name    string
		files   map[string]string
		want2   string
		current string
	}{
		{
			name:    ".1 left over: no rotation, .2+.1 compacted",
			files:   map[string]string{".2": Header + "\n" + r("192.0.2.1", 1), ".1": Header + "\n" + r("192.0.2.2", 1), "": Header + "\n" + r("192.0.2.3", 1)},
			want2:   Header + "\n" + r("192.0.2.1", 1) + r("192.0.2.2", 1),
			current: Header + "\n" + r("192.0.2.3", 1),
		},
		{
			name:    ".completed left over: only the rotation",
			files:   map[string]string{".completed": Header + "\n" + r("192.0.2.9", 1), ".2": Header + "\n" + r("192.0.2.1", 1), ".1": Header + "\n" + r("192.0.2.2", 1), "": Header + "\n"},
			want2:   Header + "\n" + r("192.0.2.9", 1),
			current: Header + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tempPath(t)
			for suf, c := range tt.files {
				writeFile(t, p+suf, c)
			}
			s, _ := openT(t, Options{Path: p, Persist: true})
			before := s.All()
			must(t, s.RunLFC())
			if got := readFile(t, p+".2"); got != tt.want2 {
				t.Fatalf(".2 =\n%s\nwant\n%s", got, tt.want2)
			}
			if got := readFile(t, p); got != tt.current {
				t.Fatalf("current = %q, want %q", got, tt.current)
			}
			s.Close()
			s2, _ := openT(t, Options{Path: p, Persist: true})
			sameLeases(t, s2.All(), before)
		})
	}
}

func TestLFCKeepsConcurrentAppends(t *testing.T) {
	p := tempPath(t)
	s, _ := openT(t, Options{Path: p, Persist: true})
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				a := fmt.Sprintf("10.%d.%d.%d", w, (i/250)%250, i%250)
				if _, err := s.Put(mk(a, "02:00:00:00:00:01", 1, int64(i), 60)); err != nil {
					t.Error(err)
					return
				}
				if i%5 == 0 {
					_, _ = s.Delete(netip.MustParseAddr(a))
				}
			}
		}()
	}
	for range 10 {
		if err := s.RunLFC(); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	before := s.All()
	s.Close()
	s2, rep := openT(t, Options{Path: p, Persist: true})
	sameLeases(t, s2.All(), before)
	if rep.RowErrors != 0 || len(before) == 0 {
		t.Fatalf("report %+v with %d leases", rep, len(before))
	}
}

func TestLFCPeriodic(t *testing.T) {
	p := tempPath(t)
	s, _ := openT(t, Options{Path: p, Persist: true, LFCInterval: 1})
	must(t, s.Add(mk("192.0.2.1", "02:00:00:00:00:01", 1, 100, 60)))
	// The timer fires continuously; wait (bounded) until a cleanup produced .2.
	for i := 0; i < 100000 && !exists(p+".2"); i++ {
		_ = s.RunLFC() // also exercises ErrLFCRunning against the timer
	}
	s.Close()
	s2, _ := openT(t, Options{Path: p, Persist: true})
	if _, ok := s2.Get(netip.MustParseAddr("192.0.2.1")); !ok || !exists(p+".2") {
		t.Fatal("lease lost or no LFC output with a periodic LFC")
	}
}

func TestOpenRefusesWhileOtherLFCRuns(t *testing.T) {
	p := tempPath(t)
	writeFile(t, p+".pid", "1\n") // init is always alive
	if _, _, err := Open(Options{Path: p, Persist: true}); !errors.Is(err, ErrLFCRunning) {
		t.Fatalf("Open = %v, want ErrLFCRunning", err)
	}
	writeFile(t, p+".pid", "999999999\n") // no such process: stale
	openT(t, Options{Path: p, Persist: true})
}
