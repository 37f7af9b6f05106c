package lease

import (
	"reflect"
	"strings"
	"testing"
)

// fastMatchesSlow checks the loader's fast path against ParseRow on one
// current-schema row: whatever the fast path accepts, ParseRow must accept
// with the same values. It reports whether the fast path accepted.
func fastMatchesSlow(t *testing.T, line string) bool {
	t.Helper()
	var p rowParser
	ok := p.parse([]byte(line))
	slow, err := parseVersioned(splitCols(nil, line), schemaCurrent, len(Columns))
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("fast path accepted %q, ParseRow: %v", line, err)
	}
	cid := ""
	if p.rec.flags&flagCIDBlob != 0 {
		cid = string(p.cid)
	}
	fast := p.rec.toLease(blobParts{host: string(p.host), userContext: p.uc, cid: cid})
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("row %q:\nfast %+v\nslow %+v", line, fast, slow)
	}
	return true
}

func TestRowParserMatchesParseRow(t *testing.T) {
	canonical := []string{
		labRows[0], labRows[1], labRows[2], labRows[3], labRows[4], labRows[5], labRows[6], labRows[7],
		"0.0.0.0,01,,0,0,0,0,0,,0,",
		"255.255.255.255," + strings.Repeat("ff:", 19) + "ff,01:02:03:04:05:06:07:08:09:0a,4294967295,9223372036854775807,4294967295,1,1,x,4294967295,",
		"10.1.2.3,02:00:00:00:00:01,01:02:00:00:00:00:01,3600,1795588598,7,1,0,host-1.example.org,2,{ \"comment\": \"lease 1\" }",
		"10.1.2.3,0a:0B:c:d,,600,1000,1,0,0,,0,", // upper case and one-digit groups
		"10.1.2.3,,1,600,1000,1,0,0,,0,",
		"10.1.2.3,01,,600,1000,1,0,0,,0,\r", // CRLF: the "\r" is an empty context
	}
	for _, line := range canonical {
		if !fastMatchesSlow(t, line) {
			t.Errorf("fast path declined %q", line)
		}
	}
	// Valid but not canonical, or invalid: the fast path must decline (the
	// loader then uses ParseRow for the value or the error message).
	declined := []string{
		"010.1.2.3,01,,600,1000,1,0,0,,0,",
		"10.1.2,01,,600,1000,1,0,0,,0,",
		"10.1.2.3.4,01,,600,1000,1,0,0,,0,",
		"10.1.2.256,01,,600,1000,1,0,0,,0,",
		"::ffff:10.1.2.3,01,,600,1000,1,0,0,,0,",
		"10.1.2.3,01::02,,600,1000,1,0,0,,0,",
		"10.1.2.3,012,,600,1000,1,0,0,,0,",
		"10.1.2.3,01:,,600,1000,1,0,0,,0,",
		"10.1.2.3," + strings.Repeat("01:", 20) + "01,,600,1000,1,0,0,,0,",
		"10.1.2.3,01,0102,600,1000,1,0,0,,0,", // contiguous hex: keafmt.ClientIDFromText's other form
		"10.1.2.3,01, 01,600,1000,1,0,0,,0,",
		"10.1.2.3,01,,0600,1000,1,0,0,,0,x",
		"10.1.2.3,01,,4294967296,1000,1,0,0,,0,",
		"10.1.2.3,01,,00000000000600,1000,1,0,0,,0,",
		"10.1.2.3,01,,600,9223372036854775808,1,0,0,,0,",
		"10.1.2.3,01,,600,-1,1,0,0,,0,",
		"10.1.2.3,01,,600,1000,,0,0,,0,",
		"10.1.2.3,01,,600,1000,1,2,0,,0,",
		"10.1.2.3,01,,600,1000,1,0,00,,0,",
		"10.1.2.3,01,,600,1000,1,0,0,a&#x2cb,0,",
		"10.1.2.3,01,,600,1000,1,0,0,,+1,",
		"10.1.2.3,01,,600,1000,1,0,0,,0,[ 1 ]",
		"10.1.2.3,01,,600,1000,1,0,0,,0,{",
		"10.1.2.3,,,600,1000,1,0,0,,0,",
		"10.1.2.3,01,,600,1000,1,0,0,,0,,",
		"10.1.2.3,01,,600,1000,1,0,0,,0",
		"",
	}
	for _, line := range declined {
		if fastMatchesSlow(t, line) {
			t.Errorf("fast path accepted %q", line)
		}
	}
}

func FuzzRowParser(f *testing.F) {
	for _, r := range labRows {
		f.Add(r)
	}
	f.Add("10.1.2.3,0a:0B:c:d,01:02:03:04:05:06:07:08:09:0a:0b,600,1000,1,1,0,h,2,{ \"a\": [ 1, 2.5 ] }")
	f.Fuzz(func(t *testing.T, line string) {
		if !strings.ContainsAny(line, "\n") {
			fastMatchesSlow(t, line)
		}
	})
}
