package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/xdhcp/xdhcp/userspace/packet"
)

// -malformed: instead of exchanges, send a bounded stream of malformed
// DHCP frames (relayed, to the server's port 67) at -rate, cycling
// through malformedKinds, so that a server's drop path and its counters
// can be measured. No reply is expected; any frame received for the relay
// address is counted.

// malformedKinds are the frames sent in turn, each one way a relayed
// BOOTREQUEST can be broken.
var malformedKinds = [...]string{
	"truncated",   // a BOOTP header cut at 100 bytes (< 236)
	"bad-options", // full BOOTREQUEST, an option whose length runs past the end
	"bad-cookie",  // full BOOTREQUEST, wrong magic cookie
	"bootreply",   // op = BOOTREPLY sent to the server port
	"garbage",     // 300 pseudo-random bytes to port 67
}

// buildMalformed writes malformed frame seq (kind seq mod the kinds) into
// b, at least dhcpMinLen bytes, and returns its length and kind.
func buildMalformed(b []byte, seq uint64, mac [6]byte, giaddr uint32) (int, int) {
	kind := int(seq % uint64(len(malformedKinds)))
	m := outMsg{typ: msgDiscover, xid: uint32(seq) ^ 0x5a5a0000, mac: mac, giaddr: giaddr}
	n := buildMsg(b, &m)
	n = breakMsg(b, n, malformedKinds[kind], func(g []byte) {
		x := seq*0x9e3779b97f4a7c15 | 1
		for i := range g {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			g[i] = byte(x)
		}
	})
	return n, kind
}

// breakMsg breaks the n-byte BOOTREQUEST in b the way kind names
// ("truncated", "bad-options", "bad-cookie", "bootreply", "garbage"; -malformed
// and -hostile share them) and returns its new length; other kinds leave it
// as it is. fill writes the garbage bytes.
func breakMsg(b []byte, n int, kind string, fill func([]byte)) int {
	switch kind {
	case "truncated":
		n = 100
	case "bad-options":
		// After option 53 (3 bytes): option 12 claiming 250 bytes.
		o := dhcpOptsOff + 3
		b[o], b[o+1] = 12, 250
		for i := o + 2; i < n; i++ {
			b[i] = 'x'
		}
	case "bad-cookie":
		binary.BigEndian.PutUint32(b[236:], 0xdeadbeef)
	case "bootreply":
		b[0] = 2
	case "garbage":
		fill(b[:dhcpMinLen])
		b[0] = 7 // neither BOOTREQUEST nor BOOTREPLY
		n = dhcpMinLen
	}
	return n
}

// MalformedReport is -malformed's -json output.
type MalformedReport struct {
	Mode        string            `json:"mode"`
	Server      string            `json:"server"`
	Giaddr      string            `json:"giaddr"`
	Rate        float64           `json:"rate"`
	Malformed   bool              `json:"malformed"`
	Hostile     bool              `json:"hostile"`
	Sent        uint64            `json:"sent"`
	ByKind      map[string]uint64 `json:"by_kind"`
	SendSeconds float64           `json:"send_seconds"`
	SentPerSec  float64           `json:"sent_per_sec"`
	Received    uint64            `json:"received"` // frames for the relay address (replies: none expected)
	Transport   map[string]uint64 `json:"transport"`
	ExitCode    int               `json:"exit_code"`
}

// runMalformed sends malformed frames at cfg.Rate until cfg.Duration or
// cfg.N (one of them is set: parseFlags refuses an unbounded run), or ctx
// ends. Received frames are drained and counted.
func runMalformed(ctx context.Context, cfg *Config, ep *endpoint, tr transport) *MalformedReport {
	frame := packet.Frame{DstMAC: ep.dstMAC, SrcMAC: ep.srcMAC, Src: ep.giaddr, Dst: ep.dst, SrcPort: 67, DstPort: 67}
	hdr := frame.HeaderLen()
	kinds := malformedKinds[:]
	var hg *hostileGen
	if cfg.Hostile {
		kinds = hostileKinds[:]
		hg = newHostileGen(uint64(time.Now().UnixNano()))
	}
	var byKind [max(len(malformedKinds), len(hostileKinds))]uint64
	var sent, recv uint64
	mac := [6]byte(cfg.MACBase)
	start := time.Now()
	tokens, last := 0.0, time.Duration(0)
	burst := max(float64(cfg.Batch), cfg.Rate*0.002)
	var elapsed time.Duration
	for {
		elapsed = time.Since(start)
		if ctx.Err() != nil || (cfg.Duration > 0 && elapsed >= cfg.Duration) || (cfg.N > 0 && sent >= uint64(cfg.N)) {
			break
		}
		n, _ := tr.receive(cfg.Batch, func([]byte) { recv++ })
		tokens = min(tokens+(elapsed-last).Seconds()*cfg.Rate, burst)
		last = elapsed
		did := n > 0
		for k := 0; k < cfg.Batch && tokens >= 1 && (cfg.N <= 0 || sent < uint64(cfg.N)); k++ {
			buf := tr.txBuf()
			if buf == nil {
				break
			}
			var fl, kind int
			if hg != nil {
				fl, kind = hg.build(buf, sent)
			} else {
				c := macAdd(mac, sent%uint64(cfg.Clients))
				var pl int
				var err error
				pl, kind = buildMalformed(buf[hdr:], sent, c, u32(ep.giaddr))
				if fl, err = packet.EncodeUDP(buf, &frame, buf[hdr:hdr+pl]); err != nil {
					break
				}
			}
			if tr.submit(fl) != nil {
				break
			}
			byKind[kind]++
			sent++
			tokens--
			did = true
		}
		_ = tr.flush()
		if !did {
			_ = tr.wait(time.Millisecond)
		}
	}
	r := &MalformedReport{Mode: cfg.Mode, Server: cfg.Server.String(), Giaddr: ep.giaddr.String(), Rate: cfg.Rate,
		Malformed: true, Hostile: cfg.Hostile, Sent: sent, ByKind: map[string]uint64{}, SendSeconds: elapsed.Seconds(),
		Received: recv, Transport: tr.counters()}
	for i, k := range kinds {
		r.ByKind[k] = byKind[i]
	}
	if elapsed > 0 {
		r.SentPerSec = float64(sent) / elapsed.Seconds()
	}
	return r
}

func (r *MalformedReport) write(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	what := "malformed"
	if r.Hostile {
		what = "hostile"
	}
	_, err := fmt.Fprintf(w, what+": sent %d frames in %.3f s (%.0f/s) to %s from %s; by kind %v; received %d\n",
		r.Sent, r.SendSeconds, r.SentPerSec, r.Server, r.Giaddr, r.ByKind, r.Received)
	return err
}
