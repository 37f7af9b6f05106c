package lease

import (
	"errors"
	"os"
	"strings"
	"testing"
)

const row1 = "192.0.2.1,0a:0b:0c:0d:0e:01,,600,1600,1,0,0,one,0,\n"
const row2 = "192.0.2.2,0a:0b:0c:0d:0e:02,01:02:03,600,1700,1,1,1,two.example,0,\n"
const row1b = "192.0.2.1,0a:0b:0c:0d:0e:01,,900,2000,1,0,0,one-b,0,\n"
const row1del = "192.0.2.1,0a:0b:0c:0d:0e:01,,0,1100,1,0,0,one-b,0,\n"

func TestLoadRules(t *testing.T) {
	hdr := Header + "\n"
	tests := []struct {
		name      string
		files     map[string]string // suffix ("" = current) → content
		maxErrs   int
		want      map[string]string // address → hostname
		wantErrAt []int             // line numbers of row errors (any file)
		wantErr   error
		wantConv  bool
		repaired  bool
		current   string // expected current file content after Open, if set
	}{
		{name: "missing file", files: nil, want: map[string]string{}, current: hdr},
		{name: "empty file", files: map[string]string{"": ""}, want: map[string]string{}, current: hdr},
		{name: "last row wins", files: map[string]string{"": hdr + row1 + row2 + row1b},
			want: map[string]string{"192.0.2.1": "one-b", "192.0.2.2": "two.example"}},
		{name: "valid 0 deletes", files: map[string]string{"": hdr + row1 + row2 + row1del},
			want: map[string]string{"192.0.2.2": "two.example"}},
		{name: "delete then re-add", files: map[string]string{"": hdr + row1 + row1del + row1b},
			want: map[string]string{"192.0.2.1": "one-b"}},
		{name: "delete of unknown is ignored", files: map[string]string{"": hdr + row1del},
			want: map[string]string{}},
		{name: "blank lines skipped", files: map[string]string{"": hdr + "\n" + row1 + "\n\n" + row2},
			want: map[string]string{"192.0.2.1": "one", "192.0.2.2": "two.example"}},
		{name: "file order .2 .1 current", files: map[string]string{".2": hdr + row1, ".1": hdr + row1b, "": hdr + row2},
			want: map[string]string{"192.0.2.1": "one-b", "192.0.2.2": "two.example"}},
		{name: "deletion in current overrides .1", files: map[string]string{".1": hdr + row1b, "": hdr + row1del},
			want: map[string]string{}},
		{name: ".completed replaces .2 and .1", files: map[string]string{".completed": hdr + row2, ".2": hdr + row1, ".1": hdr + row1b, "": hdr},
			want: map[string]string{"192.0.2.2": "two.example"}},
		{name: "bad rows skipped and counted", files: map[string]string{"": hdr + row1 + "garbage\n" + "192.0.2.9,zz,,600,1,1,0,0,,0,\n" + row2},
			want: map[string]string{"192.0.2.1": "one", "192.0.2.2": "two.example"}, wantErrAt: []int{3, 4}},
		{name: "max-row-errors not exceeded", maxErrs: 2, files: map[string]string{"": hdr + "x\ny\n" + row1},
			want: map[string]string{"192.0.2.1": "one"}, wantErrAt: []int{2, 3}},
		{name: "max-row-errors exceeded aborts", maxErrs: 1, files: map[string]string{"": hdr + "x\ny\n" + row1},
			wantErr: ErrTooManyRowErrors},
		{name: "header name mismatch", files: map[string]string{"": strings.Replace(hdr, "hwaddr", "hw", 1) + row1},
			wantErr: ErrBadHeader},
		{name: "header too short", files: map[string]string{"": "address,hwaddr,client_id\n"},
			wantErr: ErrBadHeader},
		{name: "upgrade from 9 columns", wantConv: true,
			files: map[string]string{"": "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname\n" +
				"192.0.2.1,0a:0b:0c:0d:0e:01,,600,1600,1,0,0,old\n" + "192.0.2.3,0a:0b,,600,1600,1,0,0\n"},
			want: map[string]string{"192.0.2.1": "old"}, wantErrAt: []int{3}},
		{name: "upgrade from 10 columns keeps state", wantConv: true,
			files: map[string]string{"": "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state\n" +
				"192.0.2.1,,,600,1600,1,0,0,dec,1\n"},
			want: map[string]string{"192.0.2.1": "dec"}},
		{name: "downgrade 2.4 file with pool_id", wantConv: true,
			files: map[string]string{"": hdr[:len(hdr)-1] + ",pool_id\n" +
				"192.0.2.1,0a:0b:0c:0d:0e:01,,600,1600,1,0,0,new,0,,7\n" + "192.0.2.2,0a:0b,,600,1600,1,0,0,,0,,1,extra\n"},
			want: map[string]string{"192.0.2.1": "new"}, wantErrAt: []int{3}},
		{name: "current schema needs exact column count",
			files: map[string]string{"": hdr + "192.0.2.1,0a:0b:0c:0d:0e:01,,600,1600,1,0,0,x,0,,7\n" + row2},
			want:  map[string]string{"192.0.2.2": "two.example"}, wantErrAt: []int{2}},
		{name: "torn last line is cut off", repaired: true,
			files: map[string]string{"": hdr + row1 + row2[:30]},
			want:  map[string]string{"192.0.2.1": "one"}, wantErrAt: []int{3},
			current: hdr + row1},
		{name: "unterminated complete last row is kept", repaired: true,
			files:   map[string]string{"": hdr + row1 + strings.TrimSuffix(row2, "\n")},
			want:    map[string]string{"192.0.2.1": "one", "192.0.2.2": "two.example"},
			current: hdr + row1 + row2},
		{name: "unterminated header", repaired: true, files: map[string]string{"": Header},
			want: map[string]string{}, current: hdr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tempPath(t)
			for suf, c := range tt.files {
				writeFile(t, p+suf, c)
			}
			s, rep, err := Open(Options{Path: p, Persist: true, MaxRowErrors: tt.maxErrs})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Open error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { _ = s.Close() })
			got := map[string]string{}
			for _, l := range s.All() {
				got[l.Addr.String()] = l.Hostname
			}
			if len(got) != len(tt.want) || rep.Leases != len(tt.want) {
				t.Fatalf("leases %v (report %d), want %v", got, rep.Leases, tt.want)
			}
			for a, h := range tt.want {
				if got[a] != h {
					t.Fatalf("leases %v, want %v", got, tt.want)
				}
			}
			var lines []int
			for _, e := range rep.Errors {
				lines = append(lines, e.Line)
			}
			if rep.RowErrors != len(tt.wantErrAt) || !equalInts(lines, tt.wantErrAt) {
				t.Fatalf("row errors %d at %v (%+v), want at %v", rep.RowErrors, lines, rep.Errors, tt.wantErrAt)
			}
			if rep.NeedsConversion != tt.wantConv || rep.Repaired != tt.repaired {
				t.Fatalf("conversion %v repaired %v, want %v %v", rep.NeedsConversion, rep.Repaired, tt.wantConv, tt.repaired)
			}
			if tt.current != "" {
				if c := readFile(t, p); c != tt.current {
					t.Fatalf("current file\n%q\nwant\n%q", c, tt.current)
				}
			}
			// After a repair, the next append starts on a fresh line and reloads.
			if err := s.Add(mk("192.0.2.200", "02:00:00:00:00:01", 1, 1000, 600)); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s2, rep2 := openT(t, Options{Path: p, Persist: true})
			if s2.Count() != len(tt.want)+1 {
				t.Fatalf("after append and reload: %d leases, want %d", s2.Count(), len(tt.want)+1)
			}
			if tt.repaired && (rep2.Repaired || rep2.RowErrors != 0) {
				t.Fatalf("repair did not stick: %+v", rep2)
			}
		})
	}
}

func TestLoadConversionRewritesFiles(t *testing.T) {
	p := tempPath(t)
	writeFile(t, p, Header+",pool_id\n192.0.2.1,0a:0b:0c:0d:0e:01,,600,1600,1,0,0,new,0,,7\n")
	s, rep := openT(t, Options{Path: p, Persist: true})
	if !rep.NeedsConversion {
		t.Fatal("conversion not detected")
	}
	s.Close() // waits for the conversion LFC
	if got, want := readFile(t, p+".2"), Header+"\n192.0.2.1,0a:0b:0c:0d:0e:01,,600,1600,1,0,0,new,0,\n"; got != want {
		t.Fatalf(".2 = %q, want %q", got, want)
	}
	if got := readFile(t, p); got != Header+"\n" {
		t.Fatalf("current = %q", got)
	}
	if _, err := os.Stat(p + ".1"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf(".1 still exists: %v", err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
