package packet

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

func TestChecksumKnownVector(t *testing.T) {
	// The IPv4 header example from RFC 1071 practice (checksum 0xb861).
	hdr := []byte{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}
	if got := Checksum(hdr); got != 0xb861 {
		t.Fatalf("Checksum = %#04x, want 0xb861", got)
	}
	binary.BigEndian.PutUint16(hdr[10:], 0xb861)
	if got := Checksum(hdr); got != 0 {
		t.Fatalf("Checksum over a correct header = %#04x, want 0", got)
	}
}

func TestChecksumMatchesReference(t *testing.T) {
	for n := range 100 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*37 + n*11 + 0x5a)
		}
		if got, want := Checksum(b), refChecksum(b); got != want {
			t.Errorf("len %d: Checksum = %#04x, reference %#04x", n, got, want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		vlans int
		tpids [MaxVLANs]uint16
	}{
		{name: "untagged", vlans: 0},
		{name: "one 802.1Q tag", vlans: 1},
		{name: "QinQ default TPIDs", vlans: 2},
		{name: "QinQ 0x8100/0x8100 echoed", vlans: 2, tpids: [MaxVLANs]uint16{0x8100, 0x8100}},
		{name: "QinQ 0x9100 outer", vlans: 2, tpids: [MaxVLANs]uint16{0x9100, 0x8100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := sampleFrame(t, tt.vlans)
			in.TPIDs = tt.tpids
			in.Src = netip.MustParseAddr("198.18.0.1")
			in.Dst = netip.MustParseAddr("198.18.0.2")
			b := encode(t, &in)
			if len(b) != in.HeaderLen()+len(in.Payload) {
				t.Fatalf("frame length %d, want %d", len(b), in.HeaderLen()+len(in.Payload))
			}
			var out Frame
			if err := (DecodeOptions{VerifyUDPChecksum: true}).Decode(b, &out); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			want := in
			for i := range tt.vlans {
				want.TPIDs[i] = tpid(&in, i)
			}
			if !sameFrame(&out, &want) {
				t.Fatalf("decoded %+v\nwant    %+v", out, want)
			}
			// Checksums agree with the naive reference implementation.
			ip := b[ipOffset(&in):]
			if refChecksum(ip[:IPv4HeaderLen]) != 0 {
				t.Error("IPv4 header checksum rejected by the reference implementation")
			}
			udp := ip[IPv4HeaderLen:]
			pseudo := append(append([]byte{}, ip[12:20]...), 0, protoUDP, byte(len(udp)>>8), byte(len(udp)))
			if refChecksum(pseudo, udp) != 0 {
				t.Error("UDP checksum rejected by the reference implementation")
			}
		})
	}
}

func TestDecodeAcceptsPaddingAndOptions(t *testing.T) {
	in := sampleFrame(t, 1)
	in.TPIDs[0] = etherTypeVLAN
	b := encode(t, &in)
	off := ipOffset(&in)

	// Ethernet padding after the datagram is ignored.
	padded := append(append([]byte{}, b...), make([]byte, 30)...)
	var out Frame
	if err := Decode(padded, &out); err != nil || !sameFrame(&out, &in) {
		t.Fatalf("padded frame: err %v, frame equal %v", err, sameFrame(&out, &in))
	}

	// An IPv4 header with 4 bytes of options (NOP x4).
	opt := make([]byte, 0, len(b)+4)
	opt = append(opt, b[:off+IPv4HeaderLen]...)
	opt = append(opt, 1, 1, 1, 1)
	opt = append(opt, b[off+IPv4HeaderLen:]...)
	opt[off] = 0x46
	binary.BigEndian.PutUint16(opt[off+2:], uint16(len(opt)-off))
	fixIPChecksum(opt, off)
	if err := (DecodeOptions{VerifyUDPChecksum: true}).Decode(opt, &out); err != nil || !sameFrame(&out, &in) {
		t.Fatalf("frame with IP options: err %v, frame equal %v", err, sameFrame(&out, &in))
	}
}

func TestDecodeMalformed(t *testing.T) {
	base := sampleFrame(t, 0)
	good := encode(t, &base)
	ip := ipOffset(&base)
	udp := ip + IPv4HeaderLen
	tests := []struct {
		name   string
		mutate func(b []byte) []byte
		verify bool
		want   error
	}{
		{name: "empty", mutate: func(b []byte) []byte { return nil }, want: ErrTruncated},
		{name: "short ethernet", mutate: func(b []byte) []byte { return b[:13] }, want: ErrTruncated},
		{name: "arp", mutate: func(b []byte) []byte { b[12], b[13] = 0x08, 0x06; return b }, want: ErrNotIPv4},
		{name: "ipv6 ethertype", mutate: func(b []byte) []byte { b[12], b[13] = 0x86, 0xdd; return b }, want: ErrNotIPv4},
		{name: "truncated vlan tag", mutate: func(b []byte) []byte { b[12], b[13] = 0x81, 0x00; return b[:16] }, want: ErrTruncated},
		{name: "three vlan tags", mutate: func(b []byte) []byte {
			tags := []byte{0x81, 0x00, 0, 1, 0x81, 0x00, 0, 2, 0x81, 0x00, 0, 3}
			return append(append(append([]byte{}, b[:12]...), tags...), b[12:]...)
		}, want: ErrTooManyVLANs},
		{name: "short ip header", mutate: func(b []byte) []byte { return b[:ip+19] }, want: ErrTruncated},
		{name: "ip version 6", mutate: func(b []byte) []byte { b[ip] = 0x65; return b }, want: ErrNotIPv4},
		{name: "ihl 4", mutate: func(b []byte) []byte { b[ip] = 0x44; return b }, want: ErrBadHeaderLength},
		{name: "ihl beyond packet", mutate: func(b []byte) []byte { b[ip] = 0x4f; return b[:ip+40] }, want: ErrBadHeaderLength},
		{name: "total length beyond frame", mutate: func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[ip+2:], uint16(len(b)-ip+1))
			fixIPChecksum(b, ip)
			return b
		}, want: ErrBadLength},
		{name: "total length below ihl", mutate: func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[ip+2:], 19)
			fixIPChecksum(b, ip)
			return b
		}, want: ErrBadLength},
		{name: "frame cut inside payload", mutate: func(b []byte) []byte { return b[:len(b)-1] }, want: ErrBadLength},
		{name: "bad ip checksum", mutate: func(b []byte) []byte { b[ip+10] ^= 0xff; return b }, want: ErrBadIPChecksum},
		{name: "more fragments", mutate: func(b []byte) []byte { b[ip+6] |= 0x20; fixIPChecksum(b, ip); return b }, want: ErrFragment},
		{name: "fragment offset", mutate: func(b []byte) []byte { b[ip+7] = 1; fixIPChecksum(b, ip); return b }, want: ErrFragment},
		{name: "tcp", mutate: func(b []byte) []byte { b[ip+9] = 6; fixIPChecksum(b, ip); return b }, want: ErrNotUDP},
		{name: "no room for udp header", mutate: func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[ip+2:], 20+7)
			fixIPChecksum(b, ip)
			return b
		}, want: ErrTruncated},
		{name: "udp length below 8", mutate: func(b []byte) []byte { binary.BigEndian.PutUint16(b[udp+4:], 7); return b }, want: ErrBadLength},
		{name: "udp length beyond ip payload", mutate: func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[udp+4:], uint16(len(b)-udp+1))
			return b
		}, want: ErrBadLength},
		{name: "bad udp checksum verified", verify: true, mutate: func(b []byte) []byte { b[len(b)-1] ^= 0x01; return b }, want: ErrBadUDPChecksum},
		{name: "bad udp checksum not verified", mutate: func(b []byte) []byte { b[len(b)-1] ^= 0x01; return b }, want: nil},
		{name: "zero udp checksum accepted", verify: true, mutate: func(b []byte) []byte { b[udp+6], b[udp+7] = 0, 0; return b }, want: nil},
		{name: "ethernet bytes ignored by checksum", verify: true, mutate: func(b []byte) []byte { b[0] = 0x01; return b }, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.mutate(append([]byte{}, good...))
			var f Frame
			err := DecodeOptions{VerifyUDPChecksum: tt.verify}.Decode(b, &f)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Decode error = %v, want %v", err, tt.want)
			}
			if tt.want != nil && Reason(err) != tt.want.(*Error).Reason() {
				t.Errorf("Reason = %q, want %q", Reason(err), tt.want.(*Error).Reason())
			}
		})
	}
}

func TestReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{ErrTruncated, "truncated"},
		{ErrBadUDPChecksum, "bad-udp-checksum"},
		{errors.New("boom"), "other"},
	}
	for _, tt := range tests {
		if got := Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	if !errors.Is(ErrBadIPChecksum, ErrBadChecksum) || !errors.Is(ErrBadUDPChecksum, ErrBadChecksum) {
		t.Error("checksum errors are not ErrBadChecksum")
	}
	if errors.Is(ErrTruncated, ErrBadChecksum) {
		t.Error("ErrTruncated is ErrBadChecksum")
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(f *Frame)
		buf    int
		want   error
	}{
		{name: "buffer too small", buf: 50, want: ErrBufferTooSmall},
		{name: "ipv6 source", mutate: func(f *Frame) { f.Src = netip.MustParseAddr("2001:db8::1") }, want: ErrInvalidFrame},
		{name: "invalid destination", mutate: func(f *Frame) { f.Dst = netip.Addr{} }, want: ErrInvalidFrame},
		{name: "three vlans", mutate: func(f *Frame) { f.NumVLANs = 3 }, want: ErrInvalidFrame},
		{name: "negative vlans", mutate: func(f *Frame) { f.NumVLANs = -1 }, want: ErrInvalidFrame},
		{name: "bad tpid", mutate: func(f *Frame) { f.NumVLANs = 1; f.TPIDs[0] = 0x0800 }, want: ErrInvalidFrame},
		{name: "payload too big", mutate: func(f *Frame) { f.Payload = make([]byte, MaxPayload+1) }, buf: 70000, want: ErrInvalidFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sampleFrame(t, 0)
			if tt.mutate != nil {
				tt.mutate(&f)
			}
			size := tt.buf
			if size == 0 {
				size = 2048
			}
			if _, err := EncodeUDP(make([]byte, size), &f, f.Payload); !errors.Is(err, tt.want) {
				t.Fatalf("EncodeUDP error = %v, want %v", err, tt.want)
			}
			if tt.want == ErrInvalidFrame {
				if _, err := AppendFrame(nil, &f); !errors.Is(err, tt.want) {
					t.Fatalf("AppendFrame error = %v, want %v", err, tt.want)
				}
			}
		})
	}
}

func TestEncodeInPlacePayload(t *testing.T) {
	f := sampleFrame(t, 1)
	want := encode(t, &f)
	buf := make([]byte, 2048)
	copy(buf[f.HeaderLen():], f.Payload)
	n, err := EncodeUDP(buf, &f, buf[f.HeaderLen():f.HeaderLen()+len(f.Payload)])
	if err != nil {
		t.Fatalf("EncodeUDP: %v", err)
	}
	if string(buf[:n]) != string(want) {
		t.Fatal("in-place encoding differs from AppendFrame")
	}
}

func TestZeroAllocations(t *testing.T) {
	f := sampleFrame(t, 2)
	b := encode(t, &f)
	buf := make([]byte, 2048)
	var out Frame
	dec := DecodeOptions{VerifyUDPChecksum: true}
	if n := testing.AllocsPerRun(100, func() { _ = dec.Decode(b, &out) }); n != 0 {
		t.Errorf("Decode allocates %v times per call", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = Decode(b[:10], &out) }); n != 0 {
		t.Errorf("failing Decode allocates %v times per call", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = EncodeUDP(buf, &f, f.Payload) }); n != 0 {
		t.Errorf("EncodeUDP allocates %v times per call", n)
	}
}
