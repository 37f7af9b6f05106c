package config

import (
	"fmt"
	"strings"

	"github.com/xdhcp/xdhcp/internal/keafmt"
)

var optionDefKeys = keys("name", "code", "type", "record-types", "space", "encapsulate", "array")
var optionDataKeys = keys("name", "code", "data", "csv-format", "always-send", "space")

// optionDefs decodes option-def entries and adds them to defs.
func (d *decoder) optionDefs(list []*Node, defs *OptionDefs) []*OptionDef {
	var out []*OptionDef
	for _, n := range list {
		o := d.object(n, "option-def", "option-def", optionDefKeys)
		od := &OptionDef{
			Pos:         n.Pos,
			Name:        o.str("name", ""),
			Type:        o.str("type", ""),
			Array:       o.bool("array", false),
			Space:       o.str("space", SpaceDHCP4),
			Encapsulate: o.str("encapsulate", ""),
			UserContext: o.userContext(),
			Comment:     o.comment(),
		}
		code, ok := o.intIn("code", 0, 255)
		if d.err != nil {
			return nil
		}
		if !ok {
			d.fail(n.Pos, "code", "missing parameter 'code'")
			return nil
		}
		od.Code = uint8(code)
		if rt := o.str("record-types", ""); rt != "" {
			for _, f := range strings.Split(rt, ",") {
				od.RecordTypes = append(od.RecordTypes, strings.TrimSpace(f))
			}
		}
		if n.Get("type") == nil {
			d.fail(n.Pos, "type", "missing parameter 'type'")
			return nil
		}
		if err := defs.addCustom(od); err != nil {
			if d.err == nil {
				d.err = err
			}
			return nil
		}
		out = append(out, od)
	}
	return out
}

// optionData decodes and encodes option-data entries.
func (d *decoder) optionData(list []*Node, defs *OptionDefs) []*OptionData {
	var out []*OptionData
	for _, n := range list {
		o := d.object(n, "option-data", "option-data", optionDataKeys)
		od := &OptionData{
			Pos:         n.Pos,
			Name:        o.str("name", ""),
			Space:       o.str("space", SpaceDHCP4),
			Data:        o.str("data", ""),
			CSVFormat:   o.bool("csv-format", true),
			AlwaysSend:  o.bool("always-send", false),
			UserContext: o.userContext(),
			Comment:     o.comment(),
		}
		code, hasCode := o.intIn("code", 1, 254)
		if d.err != nil {
			return nil
		}
		if err := resolveOption(od, int(code), hasCode, n.Get("csv-format") != nil, defs); err != nil {
			d.fail(n.Pos, "option-data", "%s", err.Error())
			return nil
		}
		out = append(out, od)
	}
	return out
}

// resolveOption finds od's definition, fills Name and Code and encodes Wire.
func resolveOption(od *OptionData, code int, hasCode, csvGiven bool, defs *OptionDefs) error {
	if od.Name == "" && !hasCode {
		return fmt.Errorf("option data configuration requires one of 'code' or 'name' parameters to be specified")
	}
	var def *OptionDef
	if od.Name != "" {
		def = defs.ByName(od.Space, od.Name)
		if def == nil {
			return fmt.Errorf("definition for the option '%s.%s' having code '%d' does not exist", od.Space, od.Name, code)
		}
		if hasCode && int(def.Code) != code {
			return fmt.Errorf("specified option name '%s' does not match the option definition: '%s.%s'", od.Name, od.Space, def.Name)
		}
	} else {
		def = defs.ByCode(od.Space, uint8(code))
		if def != nil && !od.CSVFormat && !csvGiven {
			od.CSVFormat = true
		}
	}
	if def != nil {
		if hasCode && od.Name == "" {
			od.Name = def.Name
		}
		code = int(def.Code)
		if def.Name != od.Name && od.Name != "" {
			return fmt.Errorf("specified option name '%s' does not match the option definition: '%s.%s'", od.Name, od.Space, def.Name)
		}
	}
	od.Code = uint8(code)
	var err error
	switch {
	case !od.CSVFormat:
		od.Wire, err = keafmt.OptionDataFromText(od.Data)
		if err != nil {
			return fmt.Errorf("option data is not a valid string of hexadecimal digits: %s", od.Data)
		}
		if len(od.Wire) > maxOptionLen {
			return fmt.Errorf("option data is %d bytes, longer than %d", len(od.Wire), maxOptionLen)
		}
	case def == nil:
		return fmt.Errorf("definition for the option '%s.' having code '%d' does not exist", od.Space, code)
	default:
		od.Wire, err = encodeCSV(def, od.Data)
		if err != nil {
			return fmt.Errorf("option data does not match option definition (space: %s, code: %d): %w", od.Space, code, err)
		}
	}
	return nil
}

var clientClassKeys = keys("name", "test", "only-if-required", "option-data", "option-def",
	"next-server", "server-hostname", "boot-file-name", "valid-lifetime", "min-valid-lifetime",
	"max-valid-lifetime")

// clientClasses decodes client-classes; names must be unique.
func (d *decoder) clientClasses(list []*Node, defs *OptionDefs) []*ClientClass {
	var out []*ClientClass
	seen := map[string]bool{}
	for _, n := range list {
		o := d.object(n, "client-classes", "client-classes", clientClassKeys)
		cc := &ClientClass{
			Pos:            n.Pos,
			Name:           o.str("name", ""),
			Test:           o.str("test", ""),
			OnlyIfRequired: o.bool("only-if-required", false),
			NextServer:     o.addrp("next-server"),
			ServerHostname: o.strp("server-hostname"),
			BootFileName:   o.strp("boot-file-name"),
			UserContext:    o.userContext(),
			Comment:        o.comment(),
		}
		if t := o.get("test"); t != nil {
			cc.TestPos = t.Pos
		}
		var s Scope
		s.ValidLifetime, s.MinValidLifetime, s.MaxValidLifetime = o.u32p("valid-lifetime"), o.u32p("min-valid-lifetime"), o.u32p("max-valid-lifetime")
		d.lifetimeTriplet(o, &s)
		cc.ValidLifetime, cc.MinValidLifetime, cc.MaxValidLifetime = s.ValidLifetime, s.MinValidLifetime, s.MaxValidLifetime
		if d.err != nil {
			return nil
		}
		if cc.Name == "" {
			d.fail(n.Pos, "name", "client class name must not be empty")
			return nil
		}
		if seen[cc.Name] {
			d.fail(n.Pos, "name", "Can't add class: Client Class: %s has already been defined", cc.Name)
			return nil
		}
		seen[cc.Name] = true
		classDefs := defs
		if l := o.list("option-def"); len(l) > 0 {
			classDefs = defs.clone()
			cc.OptionDef = d.optionDefs(l, classDefs)
			for _, od := range cc.OptionDef {
				if od.Space == SpaceDHCP4 && od.Code != 43 && (od.Code < 224 || od.Code > 254) {
					d.fail(od.Pos, "option-def", "option-def in a client class must use code 43 or 224-254, got %d", od.Code)
				}
			}
		}
		cc.OptionData = d.optionData(o.list("option-data"), classDefs)
		out = append(out, cc)
	}
	return out
}
