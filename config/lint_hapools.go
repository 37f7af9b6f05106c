package config

import (
	"fmt"
	"strings"
)

// LintHAPools is a check Kea 2.2 lacks: in load-balancing mode, every pool
// that both servers may allocate from is a warning at the pool's position.
// Load balancing splits the clients, not the addresses: each server
// allocates from every pool its clients may use, and the partner learns of
// an allocation only through the lease update, so two servers sharing a
// pool can hand one address to two clients between two updates (seen with
// two Kea 2.2 servers; Kea's ARM, hooks-ha.rst "Load-Balancing
// Configuration", splits every pool by the HA_server1 / HA_server2
// classes for this reason).
//
// The rule is conservative: a pool is split when its client-class is
// HA_<server> for one of the two load-balancing servers, or a class
// defined with a test whose top level is an "and" (at the top level, no
// "or": Kea's "and" binds tighter) with member('HA_<server>') as one of
// its conjuncts. Anything else warns, split or not.
func LintHAPools(cfg *Config) []Warning {
	c := cfg.Dhcp4
	if c == nil || c.HA == nil || c.HA.Mode != HALoadBalancing {
		return nil
	}
	split := map[string]bool{} // class name → restricted to one server
	for _, p := range c.HA.Peers {
		if p.Role == RolePrimary || p.Role == RoleSecondary {
			split["HA_"+p.Name] = true
		}
	}
	haClasses := make([]string, 0, len(split))
	for name := range split {
		haClasses = append(haClasses, name)
	}
	for _, cc := range c.ClientClasses {
		if testRequiresOneOf(cc.Test, haClasses) {
			split[cc.Name] = true
		}
	}
	var out []Warning
	check := func(s *Subnet4) {
		for _, p := range s.Pools {
			if split[p.ClientClass] {
				continue
			}
			why := "it has no client-class"
			if p.ClientClass != "" {
				why = fmt.Sprintf("its client-class %q is not HA_<server> nor a class whose test is <...> and member('HA_<server>')", p.ClientClass)
			}
			out = append(out, Warning{Pos: p.Pos, Msg: fmt.Sprintf(
				"pool %s - %s of subnet %d (%s): both load-balancing servers may allocate from it, because %s; "+
					"two servers sharing a pool can give one address to two clients: split it between the servers with client-class HA_%s / HA_%s",
				p.First, p.Last, s.ID, s.Subnet, why, c.HA.Peers[0].Name, c.HA.Peers[1].Name)})
		}
	}
	for _, s := range c.Subnet4 {
		check(s)
	}
	for _, sn := range c.SharedNetworks {
		for _, s := range sn.Subnet4 {
			check(s)
		}
	}
	return out
}

// testRequiresOneOf reports whether expr's top level is a conjunction
// one of whose terms is member('<one of classes>').
func testRequiresOneOf(expr string, classes []string) bool {
	e := stripParens(strings.TrimSpace(expr))
	if e == "" || len(splitTop(e, "or")) > 1 {
		return false
	}
	for _, term := range splitTop(e, "and") {
		t := strings.Join(strings.Fields(stripParens(strings.TrimSpace(term))), "")
		for _, cl := range classes {
			if t == "member('"+cl+"')" {
				return true
			}
		}
	}
	return false
}

// stripParens removes parentheses that enclose all of e.
func stripParens(e string) string {
	for len(e) >= 2 && e[0] == '(' && closing(e, 0) == len(e)-1 {
		e = strings.TrimSpace(e[1 : len(e)-1])
	}
	return e
}

// closing is the index of the parenthesis closing the one at open, or -1;
// quoted strings are skipped.
func closing(e string, open int) int {
	depth := 0
	for i := open; i < len(e); i++ {
		switch e[i] {
		case '\'':
			j := strings.IndexByte(e[i+1:], '\'')
			if j < 0 {
				return -1
			}
			i += j + 1
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// splitTop splits e at the keyword op (a whole word) outside parentheses
// and quoted strings.
func splitTop(e, op string) []string {
	var parts []string
	depth, start := 0, 0
	word := func(b byte) bool {
		return b == '_' || b == '-' || b == '.' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
	}
	for i := 0; i < len(e); i++ {
		switch b := e[i]; {
		case b == '\'':
			if j := strings.IndexByte(e[i+1:], '\''); j >= 0 {
				i += j + 1
			}
		case b == '(':
			depth++
		case b == ')':
			depth--
		case depth == 0 && strings.HasPrefix(e[i:], op) &&
			(i == 0 || !word(e[i-1])) && (i+len(op) == len(e) || !word(e[i+len(op)])):
			parts = append(parts, e[start:i])
			start = i + len(op)
			i = start - 1
		}
	}
	return append(parts, e[start:])
}
