package classify

import (
	"errors"
	"testing"
)

// TestCompileRefuses lists expressions Kea 2.2 refuses at config time.
func TestCompileRefuses(t *testing.T) {
	tests := []struct {
		expr string
		pos  int // expected column of the error, 0 = not checked
	}{
		{"", 1},
		{"'a'", 1},
		{"option[60].hex", 1},
		{"'a' ==", 7},
		{"'a' == 'b' ==", 12},
		{"\"a\" == 'a'", 1},
		{"'abc == 'a'", 0},
		{"'a\nb' == 'a'", 1},
		{"'a' != 'b'", 5},
		{"'a' == 'a' AND 'b' == 'b'", 12},
		{"option[256].hex == ''", 8},
		{"option[foo].hex == ''", 8},
		{"option[60] == ''", 12},
		{"option[60].hex", 0},
		{"option[60].raw == ''", 0},
		{"option[60].exists == 'true'", 1},
		{"member('a') == 'true'", 1},
		{"member(ALL)", 0},
		{"member('a', 'b')", 0},
		{"not 'a'", 5},
		{"'a' == 'a' and 'b'", 16},
		{"'a' == 'a' or", 14},
		{"substring('a', 'b', 1) == ''", 0},
		{"substring('a', 0) == ''", 0},
		{"substring('a', 0, -) == ''", 0},
		{"split('a','.') == ''", 0},
		{"split('a','.',x) == ''", 0},
		{"concat('a') == 'a'", 0},
		{"concat('a', 'b', 'c') == 'abc'", 0},
		{"ifelse('a', 'b', 'c') == 'b'", 8},
		{"hexstring(0x01) == '01'", 0},
		{"addrtotext() == ''", 0},
		{"4294967296 == ''", 1},
		{"-1 == ''", 1},
		{"relay6[0].exists", 1},
		{"pkt6.msgtype == 1", 1},
		{"peeraddr == ''", 1},
		{"pkt4.foo == ''", 0},
		{"pkt4.len == 1", 6},
		{"pkt.mac == ''", 5},
		{"relay4[256].exists", 8},
		{"relay4.exists", 7},
		{"option[82].option[256].exists", 0},
		{"vendor[4294967296].exists", 8},
		{"vendor[*].enterprise == ''", 0},
		{"vendor.exists", 0},
		{"vendor-class[*].data[256] == ''", 0},
		{"vendor-class[*].option[1].exists", 0},
		{"lcase('A') == 'a'", 1},
		{"'a' == 'a' sand 'b' == 'b'", 12},
		{"match('a', 'b')", 1},
		{"0x == ''", 2},
		{"'a' == 'a' )", 12},
		{"(('a' == 'a')", 14},
		{"256.1.1.1 == ''", 1},
		{"'a' == 'a' 'b'", 12},
		{"('a' == 'a') + 'b' == 'b'", 1},
		{"ifelse('a' == 'a', 'b' == 'b', 'c') == 'c'", 0},
	}
	for _, tt := range tests {
		_, err := Compile(tt.expr)
		if err == nil {
			t.Errorf("Compile(%q) succeeded, want an error", tt.expr)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Compile(%q) error %T is not a *SyntaxError", tt.expr, err)
			continue
		}
		if tt.pos != 0 && se.Pos != tt.pos {
			t.Errorf("Compile(%q): column %d (%v), want %d", tt.expr, se.Pos, err, tt.pos)
		}
	}
}

// TestCompileAccepts covers lexical corner cases Kea's scanner accepts.
func TestCompileAccepts(t *testing.T) {
	tests := []string{
		"option[ 60 ].hex == 'a'",
		"option[vendor-class-identifier ].exists",
		"option[host-name]\n.text == 'x'",
		"member('HA_server1')",
		"member('')",
		"'a'=='a'and'b'=='b'",
		"(((('a'))) == 'a')",
		"vendor[0].exists",
		"vendor-class[*].data[255] == ''",
		"option[82].option[0].exists",
		"substring('a', -2147483648, -1) == ''",
		"0XFF == 0xff",
		"::1 == 0x00000000000000000000000000000001",
	}
	for _, expr := range tests {
		if _, err := Compile(expr); err != nil {
			t.Errorf("Compile(%q): %v", expr, err)
		}
	}
}
