package ha

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/xdhcp/xdhcp/ha/peer"
)

// What the Service needs from the peer transport (ha/peer), and how it
// addresses the partner through it.

// caller is what the Service needs to send one command to the partner and
// wait for its answer (peer.Client).
type caller interface {
	Call(ctx context.Context, command string, args any, timeout time.Duration) (peer.Answer, error)
	Expect(ctx context.Context, command string, args any, timeout time.Duration, ok ...int) (peer.Answer, error)
	Close()
}

// updateSender is what lease replication needs to carry lease updates to
// the partner without blocking (peer.UpdateClient).
type updateSender interface {
	Send(chain []peer.Update)
	Release(u *peer.Update)
	Cancel(u *peer.Update)
	Do(ctx context.Context, key uint32, command string, body []byte) (peer.Answer, error)
	Close()
}

// listener is what the Service needs from the peer listener (peer.Server).
type listener interface {
	Serve(ln net.Listener) error
	Shutdown(ctx context.Context)
}

// tempClient is a one-shot client towards the partner, as Kea's temporary
// clients for sync, maintenance and ha-reset.
func (s *Service) tempClient() (caller, error) {
	if s.partner == nil {
		return nil, errNoPartner
	}
	return peer.NewClient(s.partner.target(), s.clientTLS, 1, true, nil)
}

// errNoPartner: a command needs the failover partner, and this server has
// none (passive-backup, a backup server).
var errNoPartner = errors.New("this server has no HA partner (passive-backup mode or a backup server)")

// target is p as the peer transport addresses it.
func (p *Peer) target() peer.Target {
	return peer.Target{Name: p.Name, URL: p.URL, BasicAuthUser: p.BasicAuthUser, BasicAuthPassword: p.BasicAuthPassword}
}
