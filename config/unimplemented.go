package config

import (
	"reflect"
	"sort"
)

// unimpl is a parameter xdhcp accepts but does not act on. When it is
// present with a value other than def (or present at all, when def is nil,
// or when check says so) Parse returns a warning naming it.
type unimpl struct {
	key   string
	def   any                // Kea's default; nil: any presence warns
	check func(n *Node) bool // optional: reports "non-default"
}

func enabled(key string) func(n *Node) bool {
	return func(n *Node) bool {
		v := n.Get(key)
		return v != nil && v.Kind == KindBool && v.Bool
	}
}

// scopeUnimpl applies at the global, shared-network and subnet levels.
var scopeUnimpl = []unimpl{
	{key: "ddns-send-updates", def: true},
	{key: "ddns-override-no-update", def: false},
	{key: "ddns-override-client-update", def: false},
	{key: "ddns-replace-client-name", def: "never"},
	{key: "ddns-generated-prefix", def: "myhost"},
	{key: "ddns-qualifying-suffix", def: ""},
	{key: "ddns-update-on-renew", def: false},
	{key: "ddns-use-conflict-resolution", def: true},
	{key: "hostname-char-set", def: "[^A-Za-z0-9.-]"},
	{key: "hostname-char-replacement", def: ""},
}

// subnetUnimpl applies to subnets only.
var subnetUnimpl = []unimpl{
	{key: "4o6-interface", def: ""},
	{key: "4o6-interface-id", def: ""},
	{key: "4o6-subnet", def: ""},
}

// globalUnimpl applies to the Dhcp4 map only.
var globalUnimpl = []unimpl{
	{key: "dhcp4o6-port", def: int64(0)},
	{key: "hosts-database"},
	{key: "hosts-databases"},
	{key: "config-control"},
	{key: "server-tag", def: ""},
	{key: "dhcp-queue-control", check: enabled("enable-queue")},
	{key: "dhcp-ddns", check: enabled("enable-updates")},
	{key: "statistic-default-sample-count", def: int64(20)},
	{key: "statistic-default-sample-age", def: int64(0)},
	{key: "reservations-lookup-first", def: false},
	{key: "compatibility", check: enabled("lenient-option-parsing")},
}

// interfacesUnimpl applies to interfaces-config.
var interfacesUnimpl = []unimpl{
	{key: "re-detect", def: true},
	{key: "service-sockets-require-all", def: false},
	{key: "service-sockets-retry-wait-time", def: int64(5000)},
	{key: "service-sockets-max-retries", def: int64(0)},
}

// leaseDBUnimpl applies to lease-database with type memfile (the SQL
// backends' keys; config/decode_misc.go leaseDatabase checks them for
// postgresql itself).
var leaseDBUnimpl = []unimpl{
	{key: "readonly"}, {key: "user"}, {key: "password"}, {key: "host"}, {key: "port"},
	{key: "connect-timeout"}, {key: "max-reconnect-tries"}, {key: "reconnect-wait-time"},
	{key: "on-fail"}, {key: "trust-anchor"}, {key: "cert-file"}, {key: "key-file"},
	{key: "cipher-list"},
}

// Unimplemented lists the parameters xdhcp accepts but does not implement
// (dotted paths below Dhcp4; "subnet/network" parameters apply at every
// level). Setting one to a non-default value yields a warning.
func Unimplemented() []string {
	var out []string
	for _, u := range append(append(append([]unimpl{}, scopeUnimpl...), subnetUnimpl...), globalUnimpl...) {
		out = append(out, u.key)
	}
	for _, u := range interfacesUnimpl {
		out = append(out, "interfaces-config."+u.key)
	}
	// The SQL keys are implemented for type postgresql; the TLS keys
	// (unused by Kea 2.2's PostgreSQL lease backend too) and readonly
	// (refused with postgresql; warned about with memfile) stay listed.
	for _, k := range []string{"readonly", "trust-anchor", "cert-file", "key-file", "cipher-list"} {
		out = append(out, "lease-database."+k)
	}
	sort.Strings(out)
	return out
}

// checkUnimpl warns about non-default unimplemented parameters of o.
func (d *decoder) checkUnimpl(o *obj, ctx string, lists ...[]unimpl) {
	for _, list := range lists {
		for _, u := range list {
			v := o.n.Get(u.key)
			if v == nil {
				continue
			}
			nonDefault := false
			switch {
			case u.check != nil:
				nonDefault = u.check(v)
			case u.def == nil:
				nonDefault = true
			default:
				nonDefault = !reflect.DeepEqual(v.Any(), u.def)
			}
			if nonDefault {
				d.warn(v.Pos, "parameter %q in %s is not implemented by xdhcp and is ignored", u.key, ctx)
			}
		}
	}
}

func unimplKeys(lists ...[]unimpl) []string {
	var out []string
	for _, l := range lists {
		for _, u := range l {
			out = append(out, u.key)
		}
	}
	return out
}
