package keafmt

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// refused marks an input a function refuses; null a nil result; any other
// want is the hex of the result ("" being an empty, non-nil slice).
const (
	refused = "!"
	null    = "nil"
)

// TestHexFromText pins, input by input, what each Kea routine's twin
// accepts and refuses, side by side, so that a change to one rule shows
// here as a changed cell.
func TestHexFromText(t *testing.T) {
	for _, tt := range []struct {
		in              string
		hw, cid, option string
	}{
		{"00:0c:01:02:03:ff", "000c010203ff", "000c010203ff", "000c010203ff"},
		{"0:c:1", "000c01", "000c01", "000c01"},
		{"AB:cd", "abcd", "abcd", "abcd"},
		{"a", "0a", "0a", "0a"},
		{"", refused, null, ""},
		{"01::02", refused, refused, refused},
		{":01", refused, refused, refused},
		{"01:", refused, refused, refused},
		{"012:34", refused, refused, refused},
		{"01 02 0a", refused, "01020a", "01020a"},
		{"01  02", refused, refused, "0102"},
		{"01 02:03", refused, refused, refused},
		{"0x0102", refused, "0102", "0102"},
		{"0X0102", refused, "0102", "0102"},
		{"0x", refused, "", ""},
		{"0x01:02", refused, refused, "0102"},
		{"102", refused, "0102", "0102"},
		{"  0102  ", refused, "0102", "0102"},
		{"zz", refused, refused, refused},
		{"1g", refused, refused, refused},
		{"01-02", refused, refused, refused},
		{"+1:02", refused, refused, refused},
	} {
		for _, f := range []struct {
			name string
			fn   func(string) ([]byte, error)
			want string
		}{
			{"HWAddrFromText", HWAddrFromText, tt.hw},
			{"ClientIDFromText", ClientIDFromText, tt.cid},
			{"OptionDataFromText", OptionDataFromText, tt.option},
		} {
			b, err := f.fn(tt.in)
			var got string
			switch {
			case err != nil:
				got = refused
			case b == nil:
				got = null
			default:
				got = hex.EncodeToString(b)
			}
			if got != f.want {
				t.Errorf("%s(%q) = %q (err %v), want %q", f.name, tt.in, got, err, f.want)
			}
		}
	}
}

// TestAppendHWAddrFromText checks the loader's allocation-free twin
// against HWAddrFromText on every non-empty input of a set that covers
// each rule, appending to bytes already there.
func TestAppendHWAddrFromText(t *testing.T) {
	for _, in := range []string{
		"00:0c:01:02:03:ff", "0:c:1", "AB:cd", "a", "01::02", ":01", "01:",
		"012:34", "01 02", "0x0102", "102", "zz", "1g", "01-02", ":", "f:ff:fff",
	} {
		want, werr := HWAddrFromText(in)
		got, ok := AppendHWAddrFromText([]byte{0xee}, []byte(in))
		if ok != (werr == nil) {
			t.Errorf("AppendHWAddrFromText(%q) ok = %v, HWAddrFromText err = %v", in, ok, werr)
			continue
		}
		if ok && !bytes.Equal(got, append([]byte{0xee}, want...)) {
			t.Errorf("AppendHWAddrFromText(%q) = % x, want ee % x", in, got, want)
		}
	}
}

func TestFormatHex(t *testing.T) {
	for _, tt := range []struct {
		in   []byte
		want string
	}{
		{nil, ""},
		{[]byte{}, ""},
		{[]byte{0x0a}, "0a"},
		{[]byte{0x00, 0x0c, 0x01, 0x02, 0x03, 0xff}, "00:0c:01:02:03:ff"},
		{[]byte{0xAB, 0xCD}, "ab:cd"},
	} {
		if got := FormatHex(tt.in); got != tt.want {
			t.Errorf("FormatHex(% x) = %q, want %q", tt.in, got, tt.want)
		}
		if got := string(AppendHex([]byte("x,"), tt.in)); got != "x,"+tt.want {
			t.Errorf("AppendHex(x, % x) = %q, want %q", tt.in, got, "x,"+tt.want)
		}
		if len(tt.in) == 0 {
			continue
		}
		// What Kea writes, each of its readers reads back.
		for name, fn := range map[string]func(string) ([]byte, error){
			"HWAddrFromText": HWAddrFromText, "ClientIDFromText": ClientIDFromText, "OptionDataFromText": OptionDataFromText,
		} {
			if b, err := fn(tt.want); err != nil || !bytes.Equal(b, tt.in) {
				t.Errorf("%s(%q) = % x, %v", name, tt.want, b, err)
			}
		}
	}
}

func TestHexDigit(t *testing.T) {
	for c := 0; c < 256; c++ {
		want, werr := byte(0), error(nil)
		if b, err := hex.DecodeString("0" + string(rune(c))); err == nil && c < 0x80 {
			want = b[0]
		} else {
			werr = err
		}
		if c >= 0x80 {
			werr = hex.InvalidByteError(c)
		}
		got, ok := HexDigit(byte(c))
		if ok != (werr == nil) || got != want {
			t.Errorf("HexDigit(%q) = %d, %v; want %d, %v", rune(c), got, ok, want, werr == nil)
		}
	}
}

// TestHexErrors pins the error texts, which reach the memfile load report
// and the lease commands' answers.
func TestHexErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		fn   func(string) ([]byte, error)
		in   string
		want string
	}{
		{"HWAddrFromText", HWAddrFromText, "01:0g", `invalid hex digit in "0g"`},
		{"HWAddrFromText", HWAddrFromText, "01::02", `invalid hex group ""`},
		{"HWAddrFromText", HWAddrFromText, "012:34", `invalid hex group "012"`},
		{"ClientIDFromText", ClientIDFromText, "01:0g", "encoding/hex: invalid byte: U+0067 'g'"},
		{"ClientIDFromText", ClientIDFromText, "01  02", `invalid hex group ""`},
		{"ClientIDFromText", ClientIDFromText, "0g", "encoding/hex: invalid byte: U+0067 'g'"},
		{"OptionDataFromText", OptionDataFromText, "01 02:03", `mixed separators in hex string "01 02:03"`},
		{"OptionDataFromText", OptionDataFromText, "0x1g", `invalid hex string "1g"`},
		{"OptionDataFromText", OptionDataFromText, "01::02", `invalid hex string "01::02"`},
	} {
		if _, err := tt.fn(tt.in); err == nil || err.Error() != tt.want {
			t.Errorf("%s(%q) err = %v, want %q", tt.name, tt.in, err, tt.want)
		}
	}
}
