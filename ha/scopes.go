package ha

import (
	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/ha/lbhash"
)

const (
	bitPrimary   = 1 << 0
	bitSecondary = 1 << 1
	bitService   = 1 << 2
)

// ownIndex is the index in s.active of this server's own scope.
func (s *Service) ownIndex() int {
	if s.active[0] == s.this {
		return 0
	}
	return 1
}

// scopesForState returns the scopes served on entry to st (docs/kea/ha-protocol.md §5).
func (s *Service) scopesForState(st State) [2]bool {
	var sv [2]bool
	switch st {
	case StateLoadBalancing, StateCommunicationRecovery, StateTerminated:
		sv[s.ownIndex()] = true
	case StatePartnerDown:
		if s.this.AutoFailover || s.maintFailover {
			sv = [2]bool{true, true}
		} else {
			sv[s.ownIndex()] = true
		}
	case StatePartnerInMaintenance:
		sv = [2]bool{true, true}
	}
	return sv
}

// setScopesLocked records the served scopes, publishes them to the hot path
// and pushes the bucket table. Callers hold s.mu.
func (s *Service) setScopesLocked(sv [2]bool) {
	s.served = sv
	s.publishLocked()
	s.pushBucketsLocked()
}

// pushBucketsLocked pushes the bucket table for the served scopes, or every
// bucket while communication with the partner is interrupted: the XDP filter
// then hands the partner's queries to user space, where Scope drops them
// after feeding the unacked-client detector (which would otherwise never see
// them, and partner-down could only come from time alone). Callers hold s.mu.
func (s *Service) pushBucketsLocked() {
	if s.deps.Buckets == nil {
		return
	}
	t := allBuckets
	if !s.bucketsAll {
		t = Buckets(s.served)
	}
	if err := s.deps.Buckets.SetBuckets(t); err != nil {
		s.log.Error().Err(err).Msg("push ha buckets")
	}
}

// refreshBucketsLocked re-pushes the bucket table when communication with
// the partner became interrupted or was restored since the last push.
// Callers hold s.mu.
func (s *Service) refreshBucketsLocked() {
	if in := s.interrupted(); in != s.bucketsAll {
		s.bucketsAll = in
		s.pushBucketsLocked()
	}
}

var allBuckets = func() (t [256]bool) {
	for i := range t {
		t[i] = true
	}
	return t
}()

// publishLocked refreshes scopeBits from served and the state.
func (s *Service) publishLocked() {
	var b uint32
	if s.served[0] {
		b |= bitPrimary
	}
	if s.served[1] {
		b |= bitSecondary
	}
	if serviceEnabled(s.state) {
		b |= bitService
	}
	s.scopeBits.Store(b)
}

// Buckets computes the XDP bucket table for the served scopes: hash h
// belongs to active server h % 2 (primary first, docs/kea/lb-hash.md §3).
func Buckets(served [2]bool) [256]bool {
	var t [256]bool
	for h := 0; h < 256; h++ {
		owner := lbhash.Owner(uint8(h), 2)
		t[h] = owner >= 0 && owner < 2 && served[owner]
	}
	return t
}

// servedNamesLocked returns the served scope names, sorted like Kea's set.
func (s *Service) servedNamesLocked() []string {
	out := []string{}
	for i, p := range s.active {
		if s.served[i] {
			out = append(out, p.Name)
		}
	}
	if len(out) == 2 && out[0] > out[1] {
		out[0], out[1] = out[1], out[0]
	}
	return out
}

// Scope is the engine's per-query hook (Kea's buffer4_receive callout): it
// returns the HA class to add ("HA_<owner name>", "" when the query has no
// identifier) and whether this server processes the query. Balanced types
// go to the hash owner; other types are in scope for both servers and get
// HA_<primary>. Dropped partner-scope queries feed the unacked-client
// detector while communication is interrupted.
func (s *Service) Scope(msg *dhcpv4.DHCPv4) (class string, serve bool) {
	bits := s.scopeBits.Load()
	if !lbhash.Balanced(msg.MessageType()) {
		return "HA_" + s.active[0].Name, bits&bitService != 0
	}
	key, ok := lbhash.Key(msg)
	if !ok {
		return "", false
	}
	owner := lbhash.Owner(lbhash.Hash(key), 2)
	if owner < 0 || owner > 1 {
		return "", false
	}
	class = "HA_" + s.active[owner].Name
	if bits&(1<<owner) != 0 && bits&bitService != 0 {
		return class, true
	}
	if s.interrupted() {
		if s.det.analyze(msg, s.cfg.MaxUnackedClients) {
			s.kickModel()
		}
	}
	return class, false
}
