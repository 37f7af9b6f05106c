package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/userspace/packet"
)

func TestBuildMalformed(t *testing.T) {
	mac := [6]byte{2, 0, 0, 0, 0, 9}
	gi := u32(testGiaddr)
	for seq := uint64(0); seq < 2*uint64(len(malformedKinds)); seq++ {
		b := make([]byte, 1500)
		n, kind := buildMalformed(b, seq, mac, gi)
		if kind != int(seq%uint64(len(malformedKinds))) {
			t.Fatalf("seq %d: kind %d", seq, kind)
		}
		p := b[:n]
		name := malformedKinds[kind]
		var rep inMsg
		switch name {
		case "truncated":
			if n >= dhcpHeaderLen {
				t.Errorf("truncated frame is %d bytes", n)
			}
			if _, err := dhcpv4.FromBytes(p); err == nil {
				t.Error("truncated frame parses")
			}
		case "bad-options":
			o := dhcpOptsOff + 3
			if p[0] != 1 || binary.BigEndian.Uint32(p[236:]) != dhcpMagic || o+2+int(p[o+1]) <= n {
				t.Errorf("bad-options: op %d, option at %d length %d in %d bytes", p[0], o, p[o+1], n)
			}
			p[0] = 2 // our reply parser checks the options the same way
			if err := parseReply(p, &rep); err != errBadOptions {
				t.Errorf("bad-options: parseReply = %v", err)
			}
		case "bad-cookie":
			if _, err := dhcpv4.FromBytes(p); err == nil {
				t.Error("bad-cookie frame parses")
			}
		case "bootreply":
			d, err := dhcpv4.FromBytes(p)
			if err != nil || d.OpCode != dhcpv4.OpcodeBootReply {
				t.Errorf("bootreply: %v %v", d, err)
			}
		case "garbage":
			if n != dhcpMinLen || p[0] == 1 || p[0] == 2 {
				t.Errorf("garbage: %d bytes, op %d", n, p[0])
			}
		}
	}
	// Garbage differs from one frame to the next.
	a, b := make([]byte, 1500), make([]byte, 1500)
	g := uint64(len(malformedKinds) - 1)
	buildMalformed(a, g, mac, gi)
	buildMalformed(b, g+uint64(len(malformedKinds)), mac, gi)
	if bytes.Equal(a[1:dhcpMinLen], b[1:dhcpMinLen]) {
		t.Error("garbage repeats")
	}
}

// sink is a transport that records what is sent.
type sink struct {
	buf    []byte
	frames [][]byte
}

func (s *sink) txBuf() []byte { return s.buf }
func (s *sink) submit(n int) error {
	s.frames = append(s.frames, bytes.Clone(s.buf[:n]))
	return nil
}
func (s *sink) flush() error                                  { return nil }
func (s *sink) receive(max int, fn func([]byte)) (int, error) { return 0, nil }
func (s *sink) wait(d time.Duration) error                    { time.Sleep(d); return nil }
func (s *sink) counters() map[string]uint64 {
	return map[string]uint64{"tx_packets": uint64(len(s.frames))}
}
func (s *sink) close() error { return nil }

func TestRunMalformed(t *testing.T) {
	cfg, err := parseFlags([]string{"-i", "x", "-mode", "packet", "-malformed", "-server", "198.18.0.11",
		"-rate", "20000", "-n", "23", "-duration", "5s", "-clients", "4", "-json"})
	if err != nil {
		t.Fatal(err)
	}
	ep := &endpoint{srcMAC: [6]byte{2, 1, 1, 1, 1, 1}, dstMAC: [6]byte{2, 2, 2, 2, 2, 2},
		giaddr: testGiaddr, dst: netip.MustParseAddr("198.18.0.11")}
	tr := &sink{buf: make([]byte, 2048)}
	r := runMalformed(context.Background(), cfg, ep, tr)
	if r.Sent != 23 || len(tr.frames) != 23 || r.SendSeconds >= 5 {
		t.Fatalf("sent %d (%d frames) in %.2f s, want 23 bounded by -n", r.Sent, len(tr.frames), r.SendSeconds)
	}
	var sum uint64
	for _, k := range malformedKinds {
		sum += r.ByKind[k]
		if r.ByKind[k] < 4 {
			t.Errorf("kind %s sent %d times", k, r.ByKind[k])
		}
	}
	if sum != 23 {
		t.Errorf("by kind sums to %d", sum)
	}
	for i, f := range tr.frames {
		var fr packet.Frame
		if err := packet.Decode(f, &fr); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if fr.DstPort != 67 || fr.SrcPort != 67 || fr.Dst != ep.dst || fr.Src != testGiaddr {
			t.Errorf("frame %d: %+v", i, fr)
		}
	}
	var out bytes.Buffer
	if err := r.write(&out, true); err != nil {
		t.Fatal(err)
	}
	var back MalformedReport
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || back.Sent != 23 || !back.Malformed {
		t.Errorf("JSON %s: %v", out.String(), err)
	}
	// Bounded by time as well: a rate that cannot finish -n in -duration.
	cfg.N, cfg.Duration, cfg.Rate = 1_000_000, 150*time.Millisecond, 200
	tr.frames = nil
	r = runMalformed(context.Background(), cfg, ep, tr)
	if r.SendSeconds < 0.15 || r.SendSeconds > 1 || r.Sent > 60 {
		t.Errorf("time bound: %d sent in %.2f s at 200/s", r.Sent, r.SendSeconds)
	}
}

func TestParseFlagsMalformed(t *testing.T) {
	for _, args := range [][]string{
		{"-i", "x", "-n", "1", "-malformed", "-rate", "0"},
		{"-i", "x", "-n", "1", "-malformed", "-renew"},
		{"-i", "x", "-n", "1", "-malformed", "-ha-owner", "0/2"},
		{"-i", "x", "-malformed"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		} else if !strings.Contains(err.Error(), "malformed") && !strings.Contains(err.Error(), "unbounded") {
			t.Errorf("parseFlags(%q): %v", args, err)
		}
	}
}
