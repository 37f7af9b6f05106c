package ha

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/xdhcp/xdhcp/ha/peer"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// maxSyncPages bounds one synchronisation (10 000 pages of sync-page-limit).
const maxSyncPages = 10000

type pageArgs struct {
	From  string `json:"from"`
	Limit uint32 `json:"limit"`
}

type pageReply struct {
	Count  int               `json:"count"`
	Leases []json.RawMessage `json:"leases"`
}

// synchronize fetches the partner's leases (docs/kea/ha-protocol.md §9): before every
// page dhcp-disable the partner for maxPeriod, page with lease4-get-page,
// apply newer leases, then ha-sync-complete-notify (dhcp-enable if the
// partner answers "unsupported"); dhcp-enable after a failure.
func (s *Service) synchronize(ctx context.Context, maxPeriod time.Duration) error {
	c, err := s.tempClient()
	if err != nil {
		return err
	}
	defer c.Close()
	disabled := false
	err = s.fetchLeases(ctx, c, maxPeriod, &disabled)
	if err == nil {
		var a peer.Answer
		a, err = c.Call(ctx, "ha-sync-complete-notify", nil, s.reqTimeout)
		switch {
		case err != nil:
		case a.Result == 2:
			_, err = c.Expect(ctx, "dhcp-enable", map[string]any{"origin": "ha-partner"}, s.reqTimeout, peer.ResultsOK...)
		case a.Result != 0 && a.Result != 3: // verifyAsyncResponse accepts 3
			err = &peer.ResultError{Command: "ha-sync-complete-notify", Result: a.Result, Text: a.Text}
		}
		if err == nil {
			return nil
		}
	}
	if disabled {
		if _, e := c.Expect(context.WithoutCancel(ctx), "dhcp-enable", map[string]any{"origin": "ha-partner"}, s.reqTimeout, peer.ResultsOK...); e != nil {
			s.log.Warn().Err(e).Msg("ha dhcp-enable after failed sync")
		}
	}
	return fmt.Errorf("synchronize leases from %s: %w", s.partner.Name, err)
}

func (s *Service) fetchLeases(ctx context.Context, c caller, maxPeriod time.Duration, disabled *bool) error {
	from := "start"
	limit := s.cfg.SyncPageLimit
	total := 0
	for page := 0; page < maxSyncPages; page++ {
		disable := map[string]any{"max-period": int(maxPeriod / time.Second), "origin": "ha-partner"}
		if _, err := c.Expect(ctx, "dhcp-disable", disable, s.reqTimeout, peer.ResultsOK...); err != nil {
			return err
		}
		*disabled = true
		a, err := c.Expect(ctx, "lease4-get-page", pageArgs{From: from, Limit: limit}, s.cfg.SyncTimeout, 0, 3)
		if err != nil {
			return err
		}
		var pr pageReply
		if len(a.Args) > 0 {
			if err := json.Unmarshal(a.Args, &pr); err != nil {
				return fmt.Errorf("decode lease4-get-page reply: %w", err)
			}
		}
		last := ""
		for _, raw := range pr.Leases {
			ip, err := s.applySynced(raw)
			if ip != "" {
				last = ip
			}
			if err != nil {
				s.log.Warn().Err(err).Msg("ha sync: lease skipped")
			}
		}
		total += len(pr.Leases)
		if uint32(len(pr.Leases)) < limit || last == "" {
			s.log.Info().Int("leases", total).Int("pages", page+1).Msg("ha lease database synchronized")
			return nil
		}
		from = last
	}
	return fmt.Errorf("more than %d pages", maxSyncPages)
}

// applySynced stores one fetched lease unless the local copy is as new
// (local cltt >= fetched cltt). It returns the lease's address for paging.
func (s *Service) applySynced(raw json.RawMessage) (string, error) {
	var j lease.JSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return "", fmt.Errorf("decode lease: %w", err)
	}
	if j.CLTT == nil || *j.CLTT <= 0 || j.SubnetID == 0 || j.ValidLft == nil {
		return j.IPAddress, fmt.Errorf("lease %s: missing cltt, subnet-id or valid-lft", j.IPAddress)
	}
	l, err := lease.FromJSON(&j, s.now().Unix(), 0)
	if err != nil {
		return j.IPAddress, fmt.Errorf("lease %s: %w", j.IPAddress, err)
	}
	if local, ok := s.deps.Leases.Get(l.Addr); ok && local.CLTT >= l.CLTT {
		return j.IPAddress, nil
	}
	if _, err := s.deps.Leases.Put(l); err != nil {
		return j.IPAddress, fmt.Errorf("store lease %s: %w", j.IPAddress, err)
	}
	return j.IPAddress, nil
}
