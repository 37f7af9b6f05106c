package packet

import "testing"

// FuzzDecode checks that Decode never panics and that a frame it accepts
// re-encodes to a frame that decodes to the same fields.
func FuzzDecode(f *testing.F) {
	for n := range MaxVLANs + 1 {
		fr := sampleFrame(f, n)
		b, err := AppendFrame(nil, &fr)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var first Frame
		if err := (DecodeOptions{VerifyUDPChecksum: true}).Decode(b, &first); err != nil {
			if Reason(err) == "other" {
				t.Fatalf("Decode returned a non-package error: %v", err)
			}
			return
		}
		enc, err := AppendFrame(nil, &first)
		if err != nil {
			t.Fatalf("re-encode of a decoded frame: %v", err)
		}
		var second Frame
		if err := (DecodeOptions{VerifyUDPChecksum: true}).Decode(enc, &second); err != nil {
			t.Fatalf("decode of the re-encoded frame: %v", err)
		}
		want := first
		if want.TTL == 0 {
			want.TTL = DefaultTTL
		}
		if !sameFrame(&second, &want) {
			t.Fatalf("round trip changed the frame:\n got %+v\nwant %+v", second, want)
		}
	})
}
