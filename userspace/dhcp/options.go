package dhcp

import (
	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/config"
)

// optItem is one configured option, already encoded by config.
type optItem struct {
	code   uint8
	wire   []byte
	always bool
}

// optSet is the option-data of one configuration level.
type optSet struct {
	byCode map[uint8]optItem
	always []uint8 // codes with always-send, config order
}

// newOptSet indexes option-data of the dhcp4 space. Later duplicates of a
// code are ignored (first wins, as Kea's option container lookup does).
func newOptSet(list []*config.OptionData) optSet {
	var s optSet
	for _, od := range list {
		if od == nil || (od.Space != "" && od.Space != "dhcp4") {
			continue
		}
		if s.byCode == nil {
			s.byCode = make(map[uint8]optItem, len(list))
		}
		if _, dup := s.byCode[od.Code]; dup {
			continue
		}
		s.byCode[od.Code] = optItem{code: od.Code, wire: od.Wire, always: od.AlwaysSend}
		if od.AlwaysSend {
			s.always = append(s.always, od.Code)
		}
	}
	return s
}

func (s *optSet) get(code uint8) (optItem, bool) {
	it, ok := s.byCode[code]
	return it, ok
}

// managedOptions are set by the engine itself and never taken from option-data.
var managedOptions = [256]bool{
	1:  true, // subnet mask: from the subnet prefix
	50: true, 51: true, 53: true, 55: true, 58: true, 59: true, 61: true, 82: true,
	54: false, // server identifier may be configured
}

// basicOptions are returned when configured even if not requested
// (Kea appendBasicOptions; 54 is handled separately).
var basicOptions = [...]uint8{3, 6, 15}

// optionLevels returns the option sets in precedence order: reservation >
// pool > subnet > shared network > classes (in the order added) > global.
func (x *exchange) optionLevels() []*optSet {
	lv := x.levels[:0]
	if x.host != nil {
		lv = append(lv, &x.host.opts)
	}
	if x.pool != nil {
		lv = append(lv, &x.pool.opts)
	}
	if x.sub != nil {
		lv = append(lv, &x.sub.opts, &x.sub.netOpts)
	}
	for name := range x.cls.All() {
		if c := x.e.m.classes.byName[name]; c != nil {
			lv = append(lv, &c.opts)
		}
	}
	lv = append(lv, &x.e.m.global)
	x.levels = lv
	return lv
}

// lookupOption finds code at the highest-precedence level that has it.
func lookupOption(levels []*optSet, code uint8) (optItem, bool) {
	for _, l := range levels {
		if it, ok := l.get(code); ok {
			return it, true
		}
	}
	return optItem{}, false
}

// appendOptions adds the configured options the client gets: those it
// requested in option 55, the basic ones and every always-send option.
func (x *exchange) appendOptions() {
	levels := x.optionLevels()
	opts := x.opts
	add := func(code uint8) {
		if managedOptions[code] || code == 54 || opts.has[code] {
			return
		}
		if it, ok := lookupOption(levels, code); ok {
			opts.set(code, it.wire)
		}
	}
	if prl := x.req.Msg.Options.Get(dhcpv4.OptionParameterRequestList); len(prl) > 0 {
		for _, c := range prl {
			add(c)
		}
	}
	for _, c := range basicOptions {
		add(c)
	}
	for _, l := range levels {
		for _, c := range l.always {
			add(c)
		}
	}
}

// serverID returns the server identifier for the reply: a configured
// option 54 (by precedence) or the receiving interface's address, written
// into buf.
func (x *exchange) serverID(buf *[4]byte) []byte {
	if it, ok := lookupOption(x.optionLevels(), 54); ok && len(it.wire) == 4 {
		return it.wire
	}
	if x.req.IfAddr.Is4() {
		*buf = x.req.IfAddr.As4()
		return buf[:]
	}
	return nil
}
