package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/rs/zerolog"

	"github.com/xdhcp/xdhcp/userspace/dhcp"
	"github.com/xdhcp/xdhcp/userspace/packet"
	"github.com/xdhcp/xdhcp/userspace/stats"
)

func TestWorkerProcess(t *testing.T) {
	bootReply := func() []byte {
		m, _ := dhcpv4.NewDiscovery(net.HardwareAddr{2, 0, 0, 0, 0, 9})
		m.OpCode = dhcpv4.OpcodeBootReply
		return m.ToBytes()
	}
	noEnd := func() []byte {
		b := discover(t, nil, 1, false)
		for i := minDHCPLen; i < len(b); i++ {
			if b[i] == 255 { // first End option after the cookie: cut it off
				return b[:i]
			}
		}
		t.Fatal("no end option")
		return nil
	}
	request := func() []byte {
		m, _ := dhcpv4.NewDiscovery(net.HardwareAddr{2, 0, 0, 0, 0, 9})
		m.UpdateOption(dhcpv4.OptMessageType(dhcpv4.MessageTypeRequest))
		return m.ToBytes()
	}
	tests := []struct {
		name     string
		data     []byte
		sendErr  error
		wantSent int
		want     map[string]int64
	}{
		{name: "discover answered", data: discover(t, nil, 1, false), wantSent: 1, want: map[string]int64{
			"pkt4-received": 1, "pkt4-discover-received": 1, "pkt4-sent": 1, "pkt4-offer-sent": 1, "pkt4-receive-drop": 0}},
		{name: "request with nil reply is not counted as a drop", data: request(), want: map[string]int64{
			"pkt4-received": 1, "pkt4-request-received": 1, "pkt4-sent": 0, "pkt4-receive-drop": 0}},
		{name: "garbage", data: []byte("hello, not dhcp"), want: map[string]int64{
			"pkt4-received": 1, "pkt4-parse-failed": 1, "pkt4-receive-drop": 1, StatParseTruncated: 1}},
		{name: "empty", data: nil, want: map[string]int64{
			"pkt4-received": 1, "pkt4-parse-failed": 1, "pkt4-receive-drop": 1, StatParseTruncated: 1}},
		{name: "bad magic cookie", data: func() []byte { b := discover(t, nil, 1, false); b[236] = 0; return b }(), want: map[string]int64{
			"pkt4-received": 1, "pkt4-parse-failed": 1, "pkt4-receive-drop": 1, StatParseMalformed: 1}},
		{name: "options without end", data: noEnd(), want: map[string]int64{
			"pkt4-received": 1, "pkt4-parse-failed": 1, "pkt4-receive-drop": 1, StatParseMalformed: 1}},
		{name: "bootreply", data: bootReply(), want: map[string]int64{
			"pkt4-received": 1, "pkt4-parse-failed": 1, "pkt4-receive-drop": 1, StatParseNotRequest: 1, "pkt4-discover-received": 0}},
		{name: "handler panic", data: discover(t, nil, 0xde, false), want: map[string]int64{
			"pkt4-received": 1, "pkt4-discover-received": 1, "pkt4-receive-drop": 1, StatHandlerPanic: 1, "pkt4-sent": 0}},
		{name: "send failure", data: discover(t, nil, 1, false), sendErr: errors.New("boom"), wantSent: 1, want: map[string]int64{
			"pkt4-received": 1, StatSendFailed: 1, "pkt4-sent": 0, "pkt4-offer-sent": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := stats.New()
			pl := newPipeline(t, Config{Stats: reg}, &offerEngine{})
			sent := 0
			p := Meta{
				Iface: "test0", IfIndex: 7, IfAddr: netip.MustParseAddr("192.0.2.1"),
				Src: netip.MustParseAddrPort("192.0.2.9:67"), Dst: netip.MustParseAddr("192.0.2.1"),
			}
			w := pl.NewWorker(sendFunc(func(_ *Meta, req *dhcp.Request, r *dhcp.Reply) error {
				sent++
				if r.Msg.MessageType() != dhcpv4.MessageTypeOffer || r.Dest.Kind != packet.DestL2Unicast {
					t.Errorf("reply %v to %v, want an offer by l2 unicast", r.Msg.MessageType(), r.Dest.Kind)
				}
				if req.Iface != "test0" || req.IfIndex != 7 || req.Len != len(tt.data) || req.IfAddr != p.IfAddr || req.Src != p.Src {
					t.Errorf("request metadata not passed through: %+v", req)
				}
				return tt.sendErr
			}), nil)
			w.Process(tt.data, &p)
			if sent != tt.wantSent {
				t.Errorf("send called %d times, want %d", sent, tt.wantSent)
			}
			wantStats(t, reg, tt.want)
		})
	}
}

func TestWorkerSurvivesPanics(t *testing.T) {
	reg := stats.New()
	var logged bytes.Buffer
	pl := newPipeline(t, Config{Stats: reg, Logger: zerolog.New(&logged)}, &offerEngine{})
	w := pl.NewWorker(sendFunc(func(*Meta, *dhcp.Request, *dhcp.Reply) error { return nil }), nil)
	for i := range 10 {
		xid := byte(1)
		if i%2 == 0 {
			xid = 0xde
		}
		w.Process(discover(t, nil, xid, false), &Meta{})
	}
	wantStats(t, reg, map[string]int64{"pkt4-received": 10, StatHandlerPanic: 5, "pkt4-sent": 5, "pkt4-receive-drop": 5})
	// The first panic is logged with the engine's frame in its stack.
	var line struct{ Level, Panic, Stack string }
	first, _, _ := bytes.Cut(logged.Bytes(), []byte("\n"))
	if err := json.Unmarshal(first, &line); err != nil {
		t.Fatalf("panic log line %q: %v", first, err)
	}
	if line.Level != "error" || line.Panic != "test panic" || !strings.Contains(line.Stack, "offerEngine).handle") {
		t.Errorf("panic logged as %+v, want level error, the value and a stack through offerEngine.handle", line)
	}
}
