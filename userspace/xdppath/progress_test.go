//go:build linux

package xdppath

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/internal/testenv"
	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/pipeline"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

// stallingEngine holds the first request until release is closed.
type stallingEngine struct {
	entered chan struct{}
	release chan struct{}
}

func (e *stallingEngine) Handler(*stats.Shard) func(*dhcp.Request) *dhcp.Reply {
	return func(*dhcp.Request) *dhcp.Reply {
		select {
		case e.entered <- struct{}{}:
			<-e.release
		default:
		}
		return nil
	}
}

// TestProgress: Progress (the service watchdog's evidence) advances on
// every queue of an idle path; the queue whose goroutine is stuck in a
// request stands still while the other keeps turning; it moves again once
// freed.
func TestProgress(t *testing.T) {
	l := newLab(t)
	testenv.RequireCommand(t, "perfdhcp")
	reg := stats.New()
	pl, err := pipeline.New(pipeline.Config{Stats: reg, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	eng := &stallingEngine{entered: make(chan struct{}), release: make(chan struct{})}
	pl.SetEngine(eng)
	p := openPath(t, l, Config{Pipeline: pl, Stats: reg, Logger: zerolog.Nop()})
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	released := false
	t.Cleanup(func() {
		if !released {
			close(eng.release)
		}
	})
	a := p.Progress()
	time.Sleep(300 * time.Millisecond) // six poll timeouts
	b := p.Progress()
	if len(a) != 2 || len(b) != 2 {
		t.Fatalf("Progress %v, %v: want two queues", a, b)
	}
	for i := range b {
		if b[i] <= a[i] {
			t.Fatalf("idle queue %d did not turn in 300 ms: %d -> %d", i, a[i], b[i])
		}
	}

	// One DISCOVER: the queue that receives it is stuck in the engine.
	perf := exec.Command("ip", "netns", "exec", l.cli.Name, "perfdhcp", "-4", "-l", l.cliIf, "-r", "1", "-n", "1", "-p", "3", srvAddr)
	if err := perf.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = perf.Process.Kill(); _ = perf.Wait() })
	select {
	case <-eng.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no request reached the engine")
	}
	time.Sleep(100 * time.Millisecond) // let the other queue's count move on
	c := p.Progress()
	time.Sleep(300 * time.Millisecond)
	d := p.Progress()
	var stuck []int
	for i := range d {
		if d[i] == c[i] {
			stuck = append(stuck, i)
		}
	}
	if len(stuck) != 1 {
		t.Fatalf("with one queue stuck in a request, queues %v stood still (%v -> %v); want exactly one", stuck, c, d)
	}

	close(eng.release)
	released = true
	time.Sleep(300 * time.Millisecond)
	e := p.Progress()
	if e[stuck[0]] <= d[stuck[0]] {
		t.Fatalf("queue %d did not turn again once freed: %d -> %d", stuck[0], d[stuck[0]], e[stuck[0]])
	}
}
