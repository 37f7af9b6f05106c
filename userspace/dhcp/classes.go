package dhcp

import (
	"fmt"
	"net/netip"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/userspace/classify"
)

// classDef is one compiled client class.
type classDef struct {
	name        string
	opts        optSet
	nextServer  *netip.Addr
	sname, file *string
	valid       *uint32
	min, max    *uint32
}

// classBook holds the classes in configuration order: the classifier that
// decides membership, and what each class contributes to a reply.
type classBook struct {
	cl     *classify.Classifier
	defs   []*classDef
	byName map[string]*classDef
}

// compileClasses compiles every class test (classify applies Kea's
// config-time rules and its evaluation order) and indexes what each class
// contributes to replies.
func compileClasses(list []*config.ClientClass) (*classBook, error) {
	b := &classBook{byName: make(map[string]*classDef, len(list))}
	defs := make([]classify.ClassDef, 0, len(list))
	for _, cc := range list {
		if cc.Test != "" {
			if _, err := classify.Compile(cc.Test); err != nil {
				pos := cc.TestPos
				if pos.Line == 0 {
					pos = cc.Pos
				}
				return nil, fmt.Errorf("%s:%d:%d: client class %q: %w", pos.File, pos.Line, pos.Col, cc.Name, err)
			}
		}
		defs = append(defs, classify.ClassDef{Name: cc.Name, Test: cc.Test, OnlyIfRequired: cc.OnlyIfRequired})
		d := &classDef{
			name: cc.Name,
			opts: newOptSet(cc.OptionData), nextServer: cc.NextServer,
			sname: cc.ServerHostname, file: cc.BootFileName,
			valid: cc.ValidLifetime, min: cc.MinValidLifetime, max: cc.MaxValidLifetime,
		}
		b.defs = append(b.defs, d)
		b.byName[d.name] = d
	}
	cl, err := classify.NewClassifier(defs)
	if err != nil {
		return nil, fmt.Errorf("client classes: %w", err)
	}
	b.cl = cl
	return b, nil
}

// classPacket is what class expressions read from this query.
func (x *exchange) classPacket() *classify.Packet {
	if !x.pktSet {
		x.pkt = classify.Packet{Msg: x.req.Msg, Iface: x.req.Iface, Src: x.req.Src.Addr(), Dst: x.req.Dst, Len: x.req.Len}
		x.pktSet = true
	}
	return &x.pkt
}

// classifyEarly runs Kea's first pass (built-ins, then the classes that do
// not depend on KNOWN/UNKNOWN). It reports false when the query is dropped.
func (x *exchange) classifyEarly() bool {
	drop, err := x.e.m.classes.cl.Classify(x.classPacket(), x.cls)
	if err != nil {
		x.e.log.Debug().Err(err).Msg("class evaluation failed")
	}
	return !drop
}

// classifyKnown sets KNOWN or UNKNOWN and the reservation's classes and runs
// the second pass. It reports false when the query is dropped.
func (x *exchange) classifyKnown() bool {
	var hostClasses []string
	if x.host != nil {
		hostClasses = x.host.classes
	}
	drop, err := x.e.m.classes.cl.ClassifyKnown(x.classPacket(), x.cls, x.host != nil, hostClasses)
	if err != nil {
		x.e.log.Debug().Err(err).Msg("class evaluation failed")
	}
	return !drop
}

// evalRequired evaluates the require-client-classes of the subnet (and its
// shared network, merged into sub.require at build) and the pool (Kea step 11).
func (x *exchange) evalRequired() {
	lists := x.lists[:0]
	if x.sub != nil {
		lists = append(lists, x.sub.require)
	}
	if x.pool != nil {
		lists = append(lists, x.pool.require)
	}
	if len(lists) == 0 {
		return
	}
	if err := x.e.m.classes.cl.EvalRequired(x.classPacket(), x.cls, lists...); err != nil {
		x.e.log.Debug().Err(err).Msg("required class evaluation failed")
	}
}
