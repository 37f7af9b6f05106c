package admission

import (
	"net/netip"
	"testing"
)

func bootRequestPayload(opts ...byte) []byte {
	b := make([]byte, dhcpOptions, dhcpOptions+len(opts))
	b[bootpOp], b[bootpHlen] = bootRequest, 6
	copy(b[bootpGiaddr:], []byte{192, 0, 2, 1})
	copy(b[bootpChaddr:], []byte{2, 0, 0, 0, 0, 7})
	copy(b[bootpCookie:], []byte{99, 130, 83, 99})
	return append(b, opts...)
}

func TestFromPayload(t *testing.T) {
	var m Message
	p := bootRequestPayload(optPad, optMsgType, 1, 1, optClientID, 3, 1, 2, 3, optEnd)
	if !FromPayload(p, true, &m) || m.Type != 1 || string(m.ClientID) != "\x01\x02\x03" ||
		string(m.Chaddr) != "\x02\x00\x00\x00\x00\x07" || m.Giaddr != netip.MustParseAddr("192.0.2.1") || !m.UnicastToUs {
		t.Fatalf("parsed %+v", m)
	}
	// Without option 61 the chaddr is the identity; hlen is capped at 16.
	p = bootRequestPayload(optMsgType, 1, 3, optEnd)
	p[bootpHlen] = 40
	if !FromPayload(p, false, &m) || m.Type != 3 || m.ClientID != nil || len(m.Chaddr) != 16 {
		t.Fatalf("parsed %+v", m)
	}
	for name, p := range map[string][]byte{
		"short":         bootRequestPayload()[:200],
		"bootreply":     func() []byte { p := bootRequestPayload(optMsgType, 1, 1); p[0] = 2; return p }(),
		"no cookie":     func() []byte { p := bootRequestPayload(optMsgType, 1, 1); p[bootpCookie] = 0; return p }(),
		"truncated":     bootRequestPayload(optMsgType, 1, 1, optClientID, 9, 1),
		"two types":     bootRequestPayload(optMsgType, 1, 1, optMsgType, 1, 3),
		"two ids":       bootRequestPayload(optClientID, 1, 1, optClientID, 1, 2),
		"overload":      bootRequestPayload(optOverload, 1, 3, optMsgType, 1, 1),
		"type length 2": bootRequestPayload(optMsgType, 2, 1, 1),
	} {
		if FromPayload(p, true, &m) || m.Type != 0 {
			t.Errorf("%s: limited as %+v; the kernel redirects it unlimited", name, m)
		}
	}
	if n := testing.AllocsPerRun(100, func() { FromPayload(p, true, &m) }); n != 0 {
		t.Errorf("FromPayload allocates %.0f times", n)
	}
}
