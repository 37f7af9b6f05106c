package lease

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// mk builds a lease for tests.
func mk(addr string, hw string, subnet uint32, cltt int64, valid uint32) *Lease {
	l := &Lease{Addr: netip.MustParseAddr(addr), SubnetID: subnet, CLTT: cltt, ValidLifetime: valid}
	if hw != "" {
		h, err := net.ParseMAC(hw)
		if err != nil {
			panic(err)
		}
		l.HWAddr = h
	}
	return l
}

func openT(t *testing.T, opts Options) (*Store, *LoadReport) {
	t.Helper()
	s, rep, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, rep
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func tempPath(t *testing.T) string {
	return filepath.Join(t.TempDir(), "kea-leases4.csv")
}

func addrs(ls []*Lease) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Addr.String()
	}
	return out
}

func sameLeases(t *testing.T, got, want []*Lease) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d leases %v, want %d %v", len(got), addrs(got), len(want), addrs(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("lease %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}
