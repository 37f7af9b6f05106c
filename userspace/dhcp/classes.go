package dhcp

import (
	"fmt"
	"net/netip"
	"regexp"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/config"
)

// Built-in class names.
const (
	classALL     = "ALL"
	classKNOWN   = "KNOWN"
	classUNKNOWN = "UNKNOWN"
	classDROP    = "DROP"
	vendorPrefix = "VENDOR_CLASS_"
)

// classSet is the ordered set of classes a query belongs to (order of
// addition matters for options and lifetimes). Sets are small: linear search.
type classSet struct {
	list []string
}

func (c *classSet) has(name string) bool {
	for _, n := range c.list {
		if n == name {
			return true
		}
	}
	return false
}

func (c *classSet) add(name string) {
	if name != "" && !c.has(name) {
		c.list = append(c.list, name)
	}
}

// classDef is one compiled client class.
type classDef struct {
	name         string
	expr         classExpr // nil: no test
	onlyRequired bool
	late         bool // depends on KNOWN/UNKNOWN: evaluated in pass 2
	opts         optSet
	nextServer   *netip.Addr
	sname, file  *string
	valid        *uint32
	min, max     *uint32
}

// classBook holds the classes in configuration order.
type classBook struct {
	defs   []*classDef
	byName map[string]*classDef
}

var memberRe = regexp.MustCompile(`member\s*\(\s*'([^']*)'\s*\)`)

// compileClasses compiles every class test. KNOWN/UNKNOWN dependence (direct
// or through an earlier class) defers a class to the second pass, as Kea does.
func compileClasses(list []*config.ClientClass) (*classBook, error) {
	b := &classBook{byName: make(map[string]*classDef, len(list))}
	for _, cc := range list {
		d := &classDef{
			name: cc.Name, onlyRequired: cc.OnlyIfRequired,
			opts: newOptSet(cc.OptionData), nextServer: cc.NextServer,
			sname: cc.ServerHostname, file: cc.BootFileName,
			valid: cc.ValidLifetime, min: cc.MinValidLifetime, max: cc.MaxValidLifetime,
		}
		if cc.Test != "" {
			ex, err := compileExpr(cc.Test)
			if err != nil {
				pos := cc.TestPos
				if pos.Line == 0 {
					pos = cc.Pos
				}
				return nil, fmt.Errorf("%s:%d:%d: client class %q: %w", pos.File, pos.Line, pos.Col, cc.Name, err)
			}
			d.expr = ex
			for _, m := range memberRe.FindAllStringSubmatch(cc.Test, -1) {
				ref := m[1]
				if ref == classKNOWN || ref == classUNKNOWN {
					d.late = true
				} else if dep := b.byName[ref]; dep != nil && dep.late {
					d.late = true
				}
			}
		}
		b.defs = append(b.defs, d)
		b.byName[d.name] = d
	}
	return b, nil
}

// classify runs one evaluation pass (late=false: pass 1, late=true: pass 2)
// over the configured classes in order.
func (x *exchange) evalPass(late bool) {
	pkt := x.classifyPacket()
	member := x.cls.has
	for _, d := range x.e.m.classes.defs {
		if d.expr == nil || d.onlyRequired || d.late != late || x.cls.has(d.name) {
			continue
		}
		ok, err := d.expr.Eval(pkt, member)
		if err != nil {
			x.e.log.Debug().Err(err).Str("class", d.name).Msg("class evaluation failed")
			continue
		}
		if ok {
			x.cls.add(d.name)
		}
	}
}

// evalRequired evaluates the require-client-classes of the shared network,
// the subnet and the pool (Kea step 11).
func (x *exchange) evalRequired() {
	var lists [][]string
	if x.sub != nil {
		lists = append(lists, x.sub.require)
	}
	if x.pool != nil {
		lists = append(lists, x.pool.require)
	}
	var pkt *classPacket
	for _, l := range lists {
		for _, name := range l {
			d := x.e.m.classes.byName[name]
			if d == nil || d.expr == nil || x.cls.has(name) {
				continue
			}
			if pkt == nil {
				pkt = x.classifyPacket()
			}
			ok, err := d.expr.Eval(pkt, x.cls.has)
			if err != nil {
				x.e.log.Debug().Err(err).Str("class", name).Msg("required class evaluation failed")
				continue
			}
			if ok {
				x.cls.add(name)
			}
		}
	}
}

// initialClasses adds the HA class (done by the caller), ALL and
// VENDOR_CLASS_<option 60>.
func (x *exchange) initialClasses() {
	x.cls.add(classALL)
	if vc := x.req.Msg.Options.Get(dhcpv4.OptionClassIdentifier); len(vc) > 0 {
		x.cls.add(vendorPrefix + string(vc))
	}
}
