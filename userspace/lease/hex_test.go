package lease

import "testing"

func TestFormatHex(t *testing.T) {
	for _, tt := range []struct {
		in   []byte
		want string
	}{
		{nil, ""},
		{[]byte{0x0a}, "0a"},
		{[]byte{0x00, 0x0c, 0x01, 0x02, 0x03, 0xff}, "00:0c:01:02:03:ff"},
	} {
		if got := FormatHex(tt.in); got != tt.want {
			t.Errorf("FormatHex(% x) = %q, want %q", tt.in, got, tt.want)
		}
		if b, err := ParseHex(tt.want); err != nil || string(b) != string(tt.in) {
			t.Errorf("ParseHex(%q) = % x, %v", tt.want, b, err)
		}
	}
}
