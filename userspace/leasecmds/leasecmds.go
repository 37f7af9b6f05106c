// Package leasecmds implements the commands of Kea's lease_cmds hook
// (lease4-add, lease4-get, lease4-get-all, lease4-get-page,
// lease4-get-by-hw-address, lease4-get-by-client-id, lease4-get-by-hostname,
// lease4-update, lease4-del, lease4-wipe) on top of the lease store, with
// Kea 2.2's arguments, result codes and texts (docs/kea/control-api.md §5,
// docs/kea/ha-protocol.md §4.2-4.5). The same handlers serve the control socket and
// the HA peer listener.
package leasecmds

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/xdhcp/xdhcp/internal/keafmt"
	"github.com/xdhcp/xdhcp/userspace/control"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

// Store is what the commands need from the lease store (lease.Store).
type Store interface {
	Get(addr netip.Addr) (*lease.Lease, bool)
	GetByHW(hw []byte, subnetID uint32) (*lease.Lease, bool)
	GetByClientID(cid []byte, subnetID uint32) (*lease.Lease, bool)
	FindByHW(hw []byte) []*lease.Lease
	FindByClientID(cid []byte) []*lease.Lease
	FindByHostname(name string) []*lease.Lease
	All() []*lease.Lease
	BySubnet(id uint32) []*lease.Lease
	Page(after netip.Addr, limit int) []*lease.Lease
	Add(l *lease.Lease) error
	Put(l *lease.Lease) (added bool, err error)
	Update(l *lease.Lease) error
	Delete(addr netip.Addr) (*lease.Lease, error)
}

// Wiper is implemented by stores that decide lease4-wipe themselves. The
// PostgreSQL store does, refusing it as Kea 2.2's PgSqlLeaseMgr::wipeLeases4
// does (docs/kea/lease-database.md §3): the error text is the reply's.
type Wiper interface {
	WipeLeases4(subnetID uint32) (int, error)
}

// Subnets answers questions about the running configuration's subnets.
type Subnets interface {
	// Subnet returns the prefix and valid lifetime of subnet id.
	Subnet(id uint32) (prefix netip.Prefix, validLifetime uint32, ok bool)
	// SubnetFor returns the id of the subnet whose prefix contains addr.
	SubnetFor(addr netip.Addr) (id uint32, ok bool)
}

// SubnetLister is optionally implemented by Subnets: the configured subnet
// ids in configuration order (lease4-wipe names them all, as Kea does).
type SubnetLister interface {
	SubnetIDs() []uint32
}

// Commands holds the dependencies of the lease commands.
type Commands struct {
	Store   Store
	Subnets Subnets
	Now     func() time.Time
}

// Names lists the commands Register adds.
var Names = []string{
	"lease4-add", "lease4-get", "lease4-get-all", "lease4-get-page",
	"lease4-get-by-hw-address", "lease4-get-by-client-id", "lease4-get-by-hostname",
	"lease4-update", "lease4-del", "lease4-wipe",
}

// Register adds the lease commands to d.
func (c *Commands) Register(d *control.Dispatcher) {
	h := map[string]control.Handler{
		"lease4-add":               c.add,
		"lease4-get":               c.get,
		"lease4-get-all":           c.getAll,
		"lease4-get-page":          c.getPage,
		"lease4-get-by-hw-address": c.getByHW,
		"lease4-get-by-client-id":  c.getByClientID,
		"lease4-get-by-hostname":   c.getByHostname,
		"lease4-update":            c.update,
		"lease4-del":               c.del,
		"lease4-wipe":              c.wipe,
	}
	for _, n := range Names {
		d.Register(n, h[n])
	}
}

// Unregister removes the lease commands from d (lease_cmds unloaded).
func Unregister(d *control.Dispatcher) {
	for _, n := range Names {
		d.Unregister(n)
	}
}

func (c *Commands) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// leaseArgs is the lease JSON accepted by lease4-add and lease4-update.
type leaseArgs struct {
	lease.JSON
	ForceCreate bool   `json:"force-create"`
	Comment     string `json:"comment"`
}

// parseLease turns lease4-add / lease4-update arguments into a Lease with
// the subnet checks of Kea's lease_cmds.
func (c *Commands) parseLease(req *control.Request) (*lease.Lease, bool, *control.Response) {
	fail := func(format string, v ...any) (*lease.Lease, bool, *control.Response) {
		r := control.Error(format, v...)
		return nil, false, &r
	}
	if !req.HasArguments() {
		if req.Command == "lease4-update" {
			return fail("no parameters specified for lease4-update command")
		}
		return fail("no parameters specified for the command")
	}
	// One decode serves the common case (an HA partner's lease4-update);
	// anything it does not fully accept is checked again for Kea's texts.
	var a leaseArgs
	if err := json.Unmarshal(req.Arguments, &a); err != nil || a.IPAddress == "" || a.HWAddress == "" ||
		!bytes.Contains(req.Arguments, []byte(`"ip-address"`)) || !bytes.Contains(req.Arguments, []byte(`"hw-address"`)) {
		// (encoding/json matches keys case-insensitively; Kea does not.)
		if r := argumentError(req.Arguments, err); r != nil {
			return nil, false, r
		}
	}
	addr, err := netip.ParseAddr(a.IPAddress)
	if err != nil {
		return fail("Failed to convert '%s' to address: Failed to convert string to address '%s': Invalid argument(<wire>:0:0)", a.IPAddress, a.IPAddress)
	}
	if !addr.Is4() {
		return fail("Non-IPv4 address specified: %s", a.IPAddress)
	}
	if a.SubnetID == 0 {
		id, ok := c.Subnets.SubnetFor(addr)
		if !ok {
			r := control.Error("subnet-id not specified and failed to find a subnet for address %s", a.IPAddress)
			return nil, false, &r
		}
		a.SubnetID = id
	}
	prefix, valid, ok := c.Subnets.Subnet(a.SubnetID)
	if !ok {
		r := control.Error("Invalid subnet-id: No IPv4 subnet with subnet-id=%d currently configured.", a.SubnetID)
		return nil, false, &r
	}
	if !prefix.Contains(addr) {
		r := control.Error("The address %s does not belong to subnet %s, subnet-id=%d", addr, prefix, a.SubnetID)
		return nil, false, &r
	}
	if a.Comment != "" {
		if a.UserContext, err = mergeComment(a.UserContext, a.Comment); err != nil {
			r := control.Error("%v", err)
			return nil, false, &r
		}
	}
	// Kea's Lease4Parser reads "expire" only: a "cltt" in the command is
	// ignored and the lease's cltt is expire - valid-lft, or now.
	a.CLTT = nil
	l, err := lease.FromJSON(&a.JSON, c.now().Unix(), valid)
	if err != nil {
		r := control.Error("%v", err)
		return nil, false, &r
	}
	return l, a.ForceCreate, nil
}

// argumentError gives Kea's text for lease arguments that are not a map,
// lack ip-address or hw-address, or have a mistyped parameter (decodeErr is
// the error of decoding them into leaseArgs). Kea appends the parameter's
// position in the command, "(<wire>:line:col)"; xdhcpd does not track
// positions in commands and writes 0:0. It returns nil when none applies.
func argumentError(args json.RawMessage, decodeErr error) *control.Response {
	fail := func(format string, v ...any) *control.Response {
		r := control.Error(format, v...)
		return &r
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(args, &m) != nil {
		return fail("arguments must be a map")
	}
	for _, k := range []string{"ip-address", "hw-address"} {
		v, ok := m[k]
		if !ok {
			return fail("missing parameter '%s' (<wire>:0:0)", k)
		}
		if t := strings.TrimSpace(string(v)); t == "" || t[0] != '"' {
			return fail("invalid type specified for parameter '%s' (<wire>:0:0)", k)
		}
	}
	if decodeErr != nil {
		var te *json.UnmarshalTypeError
		if errors.As(decodeErr, &te) {
			f := te.Field
			if i := strings.LastIndexByte(f, '.'); i >= 0 {
				f = f[i+1:]
			}
			return fail("invalid type specified for parameter '%s' (<wire>:0:0)", f)
		}
		return fail("invalid arguments: %v", decodeErr)
	}
	return nil
}

// mergeComment puts comment into the user context, as Kea does.
func mergeComment(uc json.RawMessage, comment string) (json.RawMessage, error) {
	m := map[string]any{}
	if len(uc) > 0 && string(uc) != "null" {
		if err := json.Unmarshal(uc, &m); err != nil {
			return nil, errors.New("user context is not a map")
		}
	}
	m["comment"] = comment
	return json.Marshal(m)
}

func (c *Commands) add(_ context.Context, req *control.Request) control.Response {
	l, _, r := c.parseLease(req)
	if r != nil {
		return *r
	}
	if err := c.Store.Add(l); err != nil {
		if errors.Is(err, lease.ErrExists) {
			return control.Error("IPv4 lease already exists.")
		}
		return control.Error("%v", err)
	}
	return control.OK(fmt.Sprintf("Lease for address %s, subnet-id %d added.", l.Addr, l.SubnetID), nil)
}

func (c *Commands) update(_ context.Context, req *control.Request) control.Response {
	l, force, r := c.parseLease(req)
	if r != nil {
		return *r
	}
	if force {
		added, err := c.Store.Put(l)
		if err != nil {
			return control.Error("%v", err)
		}
		if added {
			return control.OK("IPv4 lease added.", nil)
		}
		return control.OK("IPv4 lease updated.", nil)
	}
	if err := c.Store.Update(l); err != nil {
		if errors.Is(err, lease.ErrNotFound) {
			return control.Error("failed to update the lease with address %s either because the lease has been deleted or it has changed in the database, in both cases a retry might succeed", l.Addr)
		}
		return control.Error("%v", err)
	}
	return control.OK("IPv4 lease updated.", nil)
}

// identArgs is the lookup part of lease4-get and lease4-del.
type identArgs struct {
	IPAddress      string `json:"ip-address"`
	IdentifierType string `json:"identifier-type"`
	Identifier     string `json:"identifier"`
	SubnetID       uint32 `json:"subnet-id"`
	UpdateDDNS     *bool  `json:"update-ddns"`
}

// lookup finds the lease named by lease4-get / lease4-del arguments.
func (c *Commands) lookup(req *control.Request) (*lease.Lease, bool, *control.Response) {
	fail := func(format string, v ...any) (*lease.Lease, bool, *control.Response) {
		r := control.Error(format, v...)
		return nil, false, &r
	}
	// The checks and texts of Kea 2.2's LeaseCmdsImpl::getParameters, in
	// its order.
	var m map[string]json.RawMessage
	if !req.HasArguments() || json.Unmarshal(req.Arguments, &m) != nil {
		return fail("Parameters missing or are not a map.")
	}
	var a identArgs
	if v, ok := m["ip-address"]; ok {
		if json.Unmarshal(v, &a.IPAddress) != nil {
			return fail("'ip-address' is not a string.")
		}
		addr, err := netip.ParseAddr(a.IPAddress)
		if err != nil {
			return fail("Failed to convert string to address '%s': Invalid argument", a.IPAddress)
		}
		if !addr.Is4() {
			return fail("Invalid IPv4 address specified: %s", a.IPAddress)
		}
		l, ok := c.Store.Get(addr)
		return l, ok, nil
	}
	v, ok := m["subnet-id"]
	if !ok {
		return fail("Mandatory 'subnet-id' parameter missing.")
	}
	if t := strings.TrimSpace(string(v)); json.Unmarshal(v, &a.SubnetID) != nil || strings.ContainsAny(t, ".eE") {
		return fail("'subnet-id' parameter is not integer.")
	}
	if v, ok := m["update-ddns"]; ok {
		var b bool
		if json.Unmarshal(v, &b) != nil {
			return fail("'update-ddns' is not a boolean")
		}
	}
	if v, ok := m["identifier-type"]; !ok || json.Unmarshal(v, &a.IdentifierType) != nil {
		return fail("No 'ip-address' provided and 'identifier-type' is either missing or not a string.")
	}
	if v, ok := m["identifier"]; !ok || json.Unmarshal(v, &a.Identifier) != nil {
		return fail("No 'ip-address' provided and 'identifier' is either missing or not a string.")
	}
	switch a.IdentifierType {
	case "hw-address", "client-id", "duid":
	default:
		return fail("Incorrect identifier type: %s, the only supported values are: address, hw-address, duid", a.IdentifierType)
	}
	id, err := keafmt.ClientIDFromText(a.Identifier)
	if err != nil {
		return fail("'%s' is not a valid string of hexadecimal digits", a.Identifier)
	}
	switch a.IdentifierType {
	case "hw-address":
		l, ok := c.Store.GetByHW(id, a.SubnetID)
		return l, ok, nil
	case "client-id":
		l, ok := c.Store.GetByClientID(id, a.SubnetID)
		return l, ok, nil
	case "duid":
		return fail("Query by duid is not allowed in v4.")
	}
	return fail("Incorrect identifier type: %s, the only supported values are: address, hw-address, duid", a.IdentifierType)
}

func (c *Commands) get(_ context.Context, req *control.Request) control.Response {
	l, ok, r := c.lookup(req)
	if r != nil {
		return *r
	}
	if !ok {
		return control.Empty("Lease not found.", nil)
	}
	return control.OK("IPv4 lease found.", lease.ToJSON(l))
}

func (c *Commands) del(_ context.Context, req *control.Request) control.Response {
	l, ok, r := c.lookup(req)
	if r != nil {
		return *r
	}
	if !ok {
		return control.Empty("IPv4 lease not found.", nil)
	}
	if _, err := c.Store.Delete(l.Addr); err != nil {
		if errors.Is(err, lease.ErrNotFound) {
			return control.Empty("IPv4 lease not found.", nil)
		}
		return control.Error("%v", err)
	}
	return control.OK("IPv4 lease deleted.", nil)
}

// leaseList is the "leases" result of the get-all family.
func leaseList(ls []*lease.Lease) control.Response {
	out := make([]lease.JSON, len(ls))
	for i, l := range ls {
		out[i] = lease.ToJSON(l)
	}
	args := map[string]any{"leases": out}
	text := fmt.Sprintf("%d IPv4 lease(s) found.", len(ls))
	if len(ls) == 0 {
		return control.Empty(text, args)
	}
	return control.OK(text, args)
}

func (c *Commands) getAll(_ context.Context, req *control.Request) control.Response {
	if !req.HasArguments() {
		return leaseList(c.Store.All())
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(req.Arguments, &m) != nil {
		return control.Error("arguments must be a map")
	}
	raw, ok := m["subnets"]
	if !ok {
		return control.Error("'subnets' parameter not specified")
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return control.Error("'subnets' parameter must be a list")
	}
	ids := make([]uint32, len(list))
	for i, v := range list {
		if json.Unmarshal(v, &ids[i]) != nil {
			return control.Error("listed subnet identifiers must be numbers")
		}
	}
	var ls []*lease.Lease
	for _, id := range ids {
		ls = append(ls, c.Store.BySubnet(id)...)
	}
	return leaseList(ls)
}

func (c *Commands) getPage(_ context.Context, req *control.Request) control.Response {
	// Kea 2.2's checks, texts and order (lease4GetPageHandler).
	var m map[string]json.RawMessage
	if !req.HasArguments() || json.Unmarshal(req.Arguments, &m) != nil {
		return control.Error("no parameters specified for the command")
	}
	fromRaw, ok := m["from"]
	if !ok {
		return control.Error("'from' parameter not specified")
	}
	var from string
	if json.Unmarshal(fromRaw, &from) != nil {
		return control.Error("'from' parameter must be a string")
	}
	var after netip.Addr
	if from != "start" {
		addr, err := netip.ParseAddr(from)
		if err != nil {
			return control.Error("'from' parameter value is neither 'start' keyword nor a valid IPv4 address")
		}
		if !addr.Is4() {
			return control.Error("'from' parameter value %s is not an IPv4 address", from)
		}
		after = addr
	}
	limRaw, ok := m["limit"]
	if !ok {
		return control.Error("'limit' parameter not specified")
	}
	var limit int64
	if t := strings.TrimSpace(string(limRaw)); json.Unmarshal(limRaw, &limit) != nil || strings.ContainsAny(t, ".eE") {
		return control.Error("'limit' parameter must be a number")
	}
	switch {
	case limit == 0:
		return control.Error("page size of retrieved leases must not be 0")
	case limit < 0 || limit > math.MaxUint32:
		// Kea casts the value to size_t: a negative limit is huge.
		return control.Error("page size of retrieved leases must not be greater than %d", uint64(math.MaxUint32))
	}
	ls := c.Store.Page(after, int(limit))
	out := make([]lease.JSON, len(ls))
	for i, l := range ls {
		out[i] = lease.ToJSON(l)
	}
	args := map[string]any{"leases": out, "count": len(ls)}
	text := fmt.Sprintf("%d IPv4 lease(s) found.", len(ls))
	if len(ls) == 0 {
		return control.Empty(text, args)
	}
	return control.OK(text, args)
}

// byKey decodes a single string argument named key.
func byKey(req *control.Request, key string) (string, *control.Response) {
	var a map[string]json.RawMessage
	if !req.HasArguments() || json.Unmarshal(req.Arguments, &a) != nil {
		r := control.Error("Command arguments missing or a not a map.")
		return "", &r
	}
	raw, ok := a[key]
	if !ok {
		r := control.Error("'%s' parameter not specified", key)
		return "", &r
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		r := control.Error("'%s' parameter must be a string", key)
		return "", &r
	}
	return s, nil
}

func (c *Commands) getByHW(_ context.Context, req *control.Request) control.Response {
	return c.byHexKey(req, "hw-address", Store.FindByHW)
}

func (c *Commands) getByClientID(_ context.Context, req *control.Request) control.Response {
	return c.byHexKey(req, "client-id", Store.FindByClientID)
}

// byHexKey answers a lookup by a hex identifier: the key's text read by
// ClientId::fromText's rules, refused when invalid or empty, then every
// lease find returns for it from the store.
func (c *Commands) byHexKey(req *control.Request, key string, find func(Store, []byte) []*lease.Lease) control.Response {
	s, r := byKey(req, key)
	if r != nil {
		return *r
	}
	id, err := keafmt.ClientIDFromText(s)
	if err != nil || len(id) == 0 {
		return control.Error("invalid %s %q", key, s)
	}
	return leaseList(find(c.Store, id))
}

func (c *Commands) getByHostname(_ context.Context, req *control.Request) control.Response {
	s, r := byKey(req, "hostname")
	if r != nil {
		return *r
	}
	if s == "" {
		return control.Error("'hostname' parameter is empty")
	}
	return leaseList(c.Store.FindByHostname(strings.ToLower(s)))
}

func (c *Commands) wipe(_ context.Context, req *control.Request) control.Response {
	var a struct {
		SubnetID *uint32 `json:"subnet-id"`
	}
	if req.HasArguments() {
		if err := json.Unmarshal(req.Arguments, &a); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field == "subnet-id" {
				return control.Error("invalid type specified for parameter 'subnet-id' (<wire>:0:0)")
			}
			return control.Error("arguments must be a map")
		}
	}
	if w, ok := c.Store.(Wiper); ok {
		var id uint32
		if a.SubnetID != nil {
			id = *a.SubnetID
		}
		if _, err := w.WipeLeases4(id); err != nil {
			return control.Error("%s", err)
		}
	}
	var victims []*lease.Lease
	var which string
	if a.SubnetID != nil && *a.SubnetID != 0 {
		victims = c.Store.BySubnet(*a.SubnetID)
		which = fmt.Sprint(*a.SubnetID)
	} else {
		victims = c.Store.All()
		// Kea names every configured subnet, leased or not.
		var ids []string
		if l, ok := c.Subnets.(SubnetLister); ok {
			for _, id := range l.SubnetIDs() {
				ids = append(ids, fmt.Sprint(id))
			}
		} else {
			seen := map[uint32]bool{}
			for _, l := range victims {
				if !seen[l.SubnetID] {
					seen[l.SubnetID] = true
					ids = append(ids, fmt.Sprint(l.SubnetID))
				}
			}
		}
		which = strings.Join(ids, " ")
	}
	n := 0
	for _, l := range victims {
		if _, err := c.Store.Delete(l.Addr); err == nil {
			n++
		} else if !errors.Is(err, lease.ErrNotFound) {
			return control.Error("deleted %d IPv4 lease(s) before failing: %v", n, err)
		}
	}
	text := fmt.Sprintf("Deleted %d IPv4 lease(s) from subnet(s) %s", n, which)
	if n == 0 {
		return control.Empty(text, nil)
	}
	return control.OK(text, nil)
}
