package daemon

import (
	"fmt"
	"strings"
	"testing"
)

// TestLivenessProbe: the first check only records; a later one fails
// naming exactly the workers whose counters stood still.
func TestLivenessProbe(t *testing.T) {
	counts := []uint64{1, 5, 9}
	p := &livenessProbe{
		read: func() []uint64 { return append([]uint64(nil), counts...) },
		name: func(i int) string { return fmt.Sprintf("worker %d", i) },
	}
	if err := p.check(); err != nil {
		t.Fatalf("first check: %v", err)
	}
	counts = []uint64{2, 6, 10}
	if err := p.check(); err != nil {
		t.Fatalf("every worker progressed, yet: %v", err)
	}
	counts = []uint64{3, 6, 11}
	err := p.check()
	if err == nil || !strings.Contains(err.Error(), "worker 1") || strings.Contains(err.Error(), "worker 0") ||
		strings.Contains(err.Error(), "worker 2") {
		t.Fatalf("worker 1 stood still; check said %v", err)
	}
	counts = []uint64{4, 7, 12}
	if err := p.check(); err != nil {
		t.Fatalf("worker 1 moved again, yet: %v", err)
	}
}
