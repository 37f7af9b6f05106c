package config

import (
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Hook library base names xdhcp implements natively.
const (
	HookHA        = "libdhcp_ha.so"
	HookLeaseCmds = "libdhcp_lease_cmds.so"
)

// hooks decodes hooks-libraries into dh.HooksLibraries, dh.HA, dh.LeaseCmds.
func (d *decoder) hooks(list []*Node, dh *Dhcp4) {
	for _, n := range list {
		o := d.object(n, "hooks-libraries", "hooks-libraries", keys("library", "parameters"))
		lib := o.str("library", "")
		params := o.typed("parameters", KindMap)
		if d.err != nil {
			return
		}
		if n.Get("library") == nil {
			d.fail(n.Pos, "library", "mandatory 'library' parameter missing in hooks-libraries")
			return
		}
		h := HookLibrary{Pos: n.Pos, Library: lib}
		if params != nil {
			h.Parameters, _ = params.Any().(map[string]any)
		}
		switch filepath.Base(lib) {
		case HookLeaseCmds:
			dh.LeaseCmds = true
		case HookHA:
			if dh.HA != nil {
				d.fail(n.Pos, "library", "%s is loaded twice", HookHA)
				return
			}
			if params == nil {
				d.fail(n.Pos, "parameters", "%s needs parameters with a high-availability list", HookHA)
				return
			}
			dh.HA = d.ha(params)
		default:
			d.fail(n.Get("library").Pos, "library", "hooks library %q is not supported by xdhcp (only %s and %s are built in)", lib, HookHA, HookLeaseCmds)
			return
		}
		dh.HooksLibraries = append(dh.HooksLibraries, h)
	}
}

var haKeys = keys("this-server-name", "mode", "heartbeat-delay", "max-response-delay", "max-ack-delay",
	"max-unacked-clients", "delayed-updates-limit", "send-lease-updates", "sync-leases", "sync-timeout",
	"sync-page-limit", "wait-backup-ack", "restrict-commands", "require-client-certs", "trust-anchor",
	"cert-file", "key-file", "multi-threading", "state-machine", "peers")

var haPeerKeys = keys("name", "url", "role", "auto-failover", "basic-auth-user", "basic-auth-password",
	"basic-auth-password-file", "trust-anchor", "cert-file", "key-file")

func ms(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

// msIn reads a millisecond value in [0, hi].
func (o *obj) msIn(key string, def, hi int64) time.Duration {
	if v, ok := o.intIn(key, 0, hi); ok {
		return ms(v)
	}
	return ms(def)
}

// DefaultRestrictCommands is xdhcpd's default for restrict-commands: true,
// a deliberate departure from Kea 2.2, whose default is false
// (ha_config_parser.cc, HA_DEFAULTS). With it the HA listener serves only
// the commands a partner sends (CommandCreator::ha_commands4_), so
// config-set, config-write, shutdown or lease4-wipe are not reachable on
// the peer port; an explicit "restrict-commands": false opts out.
const DefaultRestrictCommands = true

// ha decodes and checks the libdhcp_ha.so parameters.
func (d *decoder) ha(params *Node) *HAConfig {
	po := d.object(params, "parameters", "libdhcp_ha.so parameters", keys("high-availability"))
	rels := po.list("high-availability")
	if d.err != nil {
		return nil
	}
	if len(rels) != 1 {
		d.fail(params.Pos, "high-availability", "high-availability must list exactly one relationship, got %d", len(rels))
		return nil
	}
	n := rels[0]
	o := d.object(n, "high-availability", "high-availability", haKeys)
	h := &HAConfig{
		Pos:                n.Pos,
		ThisServerName:     o.str("this-server-name", ""),
		Mode:               o.str("mode", ""),
		HeartbeatDelay:     o.msIn("heartbeat-delay", 10000, 65535),
		MaxResponseDelay:   o.msIn("max-response-delay", 60000, 65535),
		MaxAckDelay:        o.msIn("max-ack-delay", 10000, 65535),
		MaxUnackedClients:  o.u32("max-unacked-clients", 10),
		SendLeaseUpdates:   o.bool("send-lease-updates", true),
		SyncLeases:         o.bool("sync-leases", true),
		SyncTimeout:        o.msIn("sync-timeout", 60000, 1<<32-1),
		SyncPageLimit:      o.u32("sync-page-limit", 10000),
		WaitBackupAck:      o.bool("wait-backup-ack", false),
		RestrictCommands:   o.bool("restrict-commands", DefaultRestrictCommands),
		RequireClientCerts: o.bool("require-client-certs", true),
		TrustAnchor:        o.str("trust-anchor", ""),
		CertFile:           o.str("cert-file", ""),
		KeyFile:            o.str("key-file", ""),
	}
	if d.err != nil {
		return nil
	}
	switch h.Mode {
	case HALoadBalancing, HAHotStandby, HAPassiveBackup:
	case "":
		d.fail(n.Pos, "mode", "'mode' parameter is required in high-availability")
		return nil
	default:
		d.fail(n.Get("mode").Pos, "mode", "unsupported value '%s' for mode parameter", h.Mode)
		return nil
	}
	if h.ThisServerName == "" {
		d.fail(n.Pos, "this-server-name", "'this-server-name' parameter is required in high-availability")
		return nil
	}
	defLimit := int64(0)
	if h.Mode == HALoadBalancing {
		defLimit = 100
	}
	h.DelayedUpdatesLimit = uint32(defLimit)
	if v, ok := o.intIn("delayed-updates-limit", 0, 1<<32-1); ok {
		h.DelayedUpdatesLimit = uint32(v)
	}
	if mt := o.get("multi-threading"); mt != nil {
		mo := d.object(mt, "multi-threading", "high-availability multi-threading",
			keys("enable-multi-threading", "http-dedicated-listener", "http-listener-threads", "http-client-threads"))
		h.MultiThreading = HAMultiThreading{
			EnableMultiThreading:  mo.bool("enable-multi-threading", false),
			HTTPDedicatedListener: mo.bool("http-dedicated-listener", false),
			HTTPListenerThreads:   mo.u32("http-listener-threads", 0),
			HTTPClientThreads:     mo.u32("http-client-threads", 0),
		}
	}
	h.StateMachine = d.haStates(o.get("state-machine"))
	h.Peers = d.haPeers(o.list("peers"), h)
	if d.err != nil {
		return nil
	}
	d.checkHAPeers(n, h)
	return h
}

var haStateNames = keys("backup", "communication-recovery", "hot-standby", "load-balancing",
	"in-maintenance", "partner-down", "partner-in-maintenance", "passive-backup", "ready",
	"syncing", "terminated", "waiting")

func (d *decoder) haStates(n *Node) []HAStateConfig {
	if n == nil {
		return nil
	}
	o := d.object(n, "state-machine", "state-machine", keys("states"))
	var out []HAStateConfig
	seen := map[string]bool{}
	for _, sn := range o.list("states") {
		so := d.object(sn, "states", "state-machine states", keys("state", "pause"))
		s := HAStateConfig{State: so.str("state", ""), Pause: so.str("pause", "never")}
		if d.err != nil {
			return nil
		}
		if !haStateNames[s.State] {
			d.fail(sn.Pos, "state", "unknown HA state '%s'", s.State)
			return nil
		}
		if s.Pause != "always" && s.Pause != "once" && s.Pause != "never" {
			d.fail(sn.Pos, "pause", "unsupported value '%s' of 'pause' parameter", s.Pause)
			return nil
		}
		if seen[s.State] {
			d.fail(sn.Pos, "state", "duplicated configuration for the '%s' state", s.State)
			return nil
		}
		seen[s.State] = true
		out = append(out, s)
	}
	return out
}

// tlsMissing names the first missing TLS parameter when some but not all
// of trust-anchor, cert-file and key-file are set ("" when all or none).
func tlsMissing(trustAnchor, certFile, keyFile string) string {
	vals := []struct{ name, v string }{{"trust-anchor", trustAnchor}, {"cert-file", certFile}, {"key-file", keyFile}}
	set := 0
	for _, x := range vals {
		if x.v != "" {
			set++
		}
	}
	if set == 0 || set == 3 {
		return ""
	}
	for _, x := range vals {
		if x.v == "" {
			return x.name
		}
	}
	return ""
}

func (d *decoder) haPeers(list []*Node, h *HAConfig) []*HAPeer {
	var out []*HAPeer
	seen := map[string]bool{}
	for _, n := range list {
		o := d.object(n, "peers", "peers", haPeerKeys)
		p := &HAPeer{
			Pos:                   n.Pos,
			Name:                  o.str("name", ""),
			URL:                   o.str("url", ""),
			Role:                  o.str("role", ""),
			AutoFailover:          o.bool("auto-failover", true),
			BasicAuthUser:         o.str("basic-auth-user", ""),
			BasicAuthPassword:     o.str("basic-auth-password", ""),
			BasicAuthPasswordFile: o.str("basic-auth-password-file", ""),
			TrustAnchor:           o.str("trust-anchor", ""),
			CertFile:              o.str("cert-file", ""),
			KeyFile:               o.str("key-file", ""),
		}
		p.TLSSet = [3]bool{o.strp("trust-anchor") != nil, o.strp("cert-file") != nil, o.strp("key-file") != nil}
		if d.err != nil {
			return nil
		}
		switch {
		case p.Name == "":
			d.fail(n.Pos, "name", "peer name must not be empty")
		case seen[p.Name]:
			d.fail(n.Pos, "name", "peer with name '%s' already specified", p.Name)
		case p.Role != RolePrimary && p.Role != RoleSecondary && p.Role != RoleStandby && p.Role != RoleBackup:
			d.fail(n.Pos, "role", "unsupported value '%s' for role parameter", p.Role)
		case p.BasicAuthPassword != "" && p.BasicAuthPasswordFile != "":
			d.fail(n.Pos, "basic-auth-password", "only one of basic-auth-password and basic-auth-password-file parameter can be configured")
		}
		// Kea merges each TLS parameter (peer value, else the
		// relationship's) and only then requires all three or none.
		ca, cert, key := h.TLS(p)
		if missing := tlsMissing(ca, cert, key); missing != "" {
			d.fail(n.Pos, missing, "bad TLS config for server %s: %s parameter is missing or empty: all or none of TLS parameters must be set", p.Name, missing)
		}
		if d.err != nil {
			return nil
		}
		seen[p.Name] = true
		tls := ca != ""
		host, port, err := parsePeerURL(p.URL)
		if err != "" {
			d.fail(n.Pos, "url", "invalid URL '%s' for server %s: %s", p.URL, p.Name, err)
			return nil
		}
		switch https := strings.HasPrefix(p.URL, "https:"); {
		case https && !tls:
			// Kea 2.2 HAConfig::validate (ha_config.cc).
			d.fail(n.Pos, "url", "bad url '%s': https scheme is not supported for server %s where TLS is disabled", p.URL, p.Name)
			return nil
		case !https && tls:
			// Kea 2.2 accepts this and speaks TLS to the http:// URL;
			// so does xdhcpd, but it is probably not what was meant.
			d.warn(n.Pos, "TLS is configured for server %s but its url '%s' is http://: the HA traffic to and from it uses TLS anyway, as in Kea 2.2", p.Name, p.URL)
		}
		p.Host, p.Port = host, port
		out = append(out, p)
	}
	return out
}

// parsePeerURL requires http(s)://<literal IP>[:port]/.
func parsePeerURL(raw string) (netip.Addr, uint16, string) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return netip.Addr{}, 0, "not a valid URL"
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return netip.Addr{}, 0, "scheme must be http or https"
	}
	a, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return netip.Addr{}, 0, "host must be a literal IP address"
	}
	port := uint16(80)
	if u.Scheme == "https" {
		port = 443
	}
	if ps := u.Port(); ps != "" {
		v, err := strconv.ParseUint(ps, 10, 16)
		if err != nil || v == 0 {
			return netip.Addr{}, 0, "invalid port"
		}
		port = uint16(v)
	}
	return a, port, ""
}

// checkHAPeers applies Kea 2.2's role and mode rules, in the order and
// with the texts of HAConfig::validate (src/hooks/dhcp/high_availability/
// ha_config.cc; ha.Config.Validate is the same check on the converted
// configuration).
func (d *decoder) checkHAPeers(n *Node, h *HAConfig) {
	if h.This() == nil {
		d.fail(n.Pos, "this-server-name", "no peer configuration specified for the '%s'", h.ThisServerName)
		return
	}
	roles := map[string]int{}
	for _, p := range h.Peers {
		roles[p.Role]++
	}
	for _, r := range []string{RolePrimary, RoleSecondary, RoleStandby} {
		if roles[r] > 1 {
			d.fail(n.Pos, "peers", "multiple %s servers specified", r)
			return
		}
	}
	fail := func(key, msg string) { d.fail(haKeyPos(n, key), key, "%s", msg) }
	switch h.Mode {
	case HALoadBalancing:
		switch {
		case roles[RoleStandby] > 0:
			fail("peers", "standby servers not allowed in the load balancing configuration")
		case roles[RoleSecondary] == 0:
			fail("peers", "secondary server required in the load balancing configuration")
		case roles[RolePrimary] == 0:
			fail("peers", "primary server required in the load balancing configuration")
		case h.WaitBackupAck:
			fail("wait-backup-ack", "'wait-backup-ack' must be set to false in the load balancing configuration")
		}
	case HAHotStandby:
		switch {
		case roles[RoleSecondary] > 0:
			fail("peers", "secondary servers not allowed in the hot standby configuration")
		case roles[RoleStandby] == 0:
			fail("peers", "standby server required in the hot standby configuration")
		case roles[RolePrimary] == 0:
			fail("peers", "primary server required in the hot standby configuration")
		case h.WaitBackupAck:
			fail("wait-backup-ack", "'wait-backup-ack' must be set to false in the hot standby configuration")
		case h.DelayedUpdatesLimit > 0:
			fail("delayed-updates-limit", "'delayed-updates-limit' must be set to 0 in the hot standby configuration")
		}
	case HAPassiveBackup:
		switch {
		case roles[RoleSecondary] > 0:
			fail("peers", "secondary servers not allowed in the passive backup configuration")
		case roles[RoleStandby] > 0:
			fail("peers", "standby servers not allowed in the passive backup configuration")
		case roles[RolePrimary] == 0:
			fail("peers", "primary server required in the passive backup configuration")
		case h.DelayedUpdatesLimit > 0:
			fail("delayed-updates-limit", "'delayed-updates-limit' must be set to 0 in the passive backup configuration")
		}
	}
}

// haKeyPos is the position of key in the relationship n, else n's.
func haKeyPos(n *Node, key string) Pos {
	if k := n.Get(key); k != nil {
		return k.Pos
	}
	return n.Pos
}
