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

// defaultScopes are the scopes a server serves on its own (Kea's
// QueryFilter::serveDefaultScopes, query_filter.cc): a primary or a
// secondary its own, a standby or a backup none.
func (s *Service) defaultScopes() [2]bool {
	var sv [2]bool
	switch s.this.Role {
	case RolePrimary:
		sv[0] = true
	case RoleSecondary:
		sv[1] = true
	}
	return sv
}

// failoverScopes are the scopes served for a partner that is down (Kea's
// QueryFilter::serveFailoverScopes): the primary's and, in load-balancing,
// the secondary's. A hot-standby server thus serves the primary's scope,
// which holds every query (inScope's candidate is always the primary).
func (s *Service) failoverScopes() [2]bool {
	return [2]bool{true, s.active[1] != nil && s.active[1].Role == RoleSecondary}
}

// scopesForState returns the scopes served on entry to st: the entry
// actions of Kea's state handlers (docs/kea/ha-protocol.md §5 and
// docs/kea/ha-protocol.md §15).
func (s *Service) scopesForState(st State) [2]bool {
	switch st {
	case StateLoadBalancing, StateHotStandby, StatePassiveBackup, StateCommunicationRecovery, StateTerminated:
		return s.defaultScopes()
	case StatePartnerDown:
		if s.this.AutoFailover || s.maintFailover {
			return s.failoverScopes()
		}
		return s.defaultScopes()
	case StatePartnerInMaintenance:
		return s.failoverScopes()
	}
	return [2]bool{} // waiting, syncing, ready, in-maintenance, backup
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
		t = s.bucketsFor(s.served)
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

// bucketsFor is the bucket table for the served scopes in this
// relationship's mode: load-balancing splits by hash (Buckets); in the
// other modes every query belongs to the primary's scope (Kea's
// QueryFilter::inScopeInternal balances only in load-balancing), so every
// bucket is served or none: a hot-standby standby in its normal state
// pushes an all-"partner" table and the kernel drops its queries as the
// partner's (drop_partner).
func (s *Service) bucketsFor(served [2]bool) [256]bool {
	if s.cfg.Mode == ModeLoadBalancing {
		return Buckets(served)
	}
	if served[0] {
		return allBuckets
	}
	return [256]bool{}
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
		if p != nil && s.served[i] {
			out = append(out, p.Name)
		}
	}
	if len(out) == 2 && out[0] > out[1] {
		out[0], out[1] = out[1], out[0]
	}
	return out
}

// Scope is the engine's per-query hook (Kea's buffer4_receive callout,
// QueryFilter::inScopeInternal): it returns the HA class to add
// ("HA_<owner name>", "" when the query has no identifier) and whether
// this server processes the query. In load-balancing, balanced types go to
// the hash owner; in the other modes they all belong to the primary's
// scope; other types are in scope for every server and get HA_<primary>.
// Dropped partner-scope queries feed the unacked-client detector while
// communication is interrupted.
func (s *Service) Scope(msg *dhcpv4.DHCPv4) (class string, serve bool) {
	bits := s.scopeBits.Load()
	if !lbhash.Balanced(msg.MessageType()) {
		return "HA_" + s.active[0].Name, bits&bitService != 0
	}
	if s.cfg.Mode != ModeLoadBalancing {
		return s.scopeOf(msg, 0, bits)
	}
	key, ok := lbhash.Key(msg)
	if !ok {
		return "", false
	}
	owner := lbhash.Owner(lbhash.Hash(key), 2)
	if owner < 0 || owner > 1 {
		return "", false
	}
	return s.scopeOf(msg, owner, bits)
}

// scopeOf decides a balanced query of active server owner's scope.
func (s *Service) scopeOf(msg *dhcpv4.DHCPv4, owner int, bits uint32) (class string, serve bool) {
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
