package packet

import "testing"

func BenchmarkDecode(b *testing.B) {
	for _, verify := range []bool{false, true} {
		name := "no-udp-checksum"
		if verify {
			name = "udp-checksum"
		}
		b.Run(name, func(b *testing.B) {
			f := sampleFrame(b, 1)
			frame := encode(b, &f)
			dec := DecodeOptions{VerifyUDPChecksum: verify}
			var out Frame
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				if err := dec.Decode(frame, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncodeUDP(b *testing.B) {
	f := sampleFrame(b, 1)
	buf := make([]byte, 2048)
	b.SetBytes(int64(f.HeaderLen() + len(f.Payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeUDP(buf, &f, f.Payload); err != nil {
			b.Fatal(err)
		}
	}
}
