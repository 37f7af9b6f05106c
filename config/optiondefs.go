package config

import (
	"fmt"
	"strings"
)

// SpaceDHCP4 is the top-level DHCPv4 option space.
const SpaceDHCP4 = "dhcp4"

// optionTypes are the option-def type names Kea 2.2 knows.
var optionTypes = keys("binary", "boolean", "empty", "fqdn", "ipv4-address", "ipv6-address",
	"ipv6-prefix", "psid", "record", "string", "tuple", "uint8", "uint16", "uint32",
	"int8", "int16", "int32")

// StandardOptionDefs returns fresh copies of Kea 2.2's standard DHCPv4
// option definitions (space "dhcp4", plus the option 82 sub-options, the
// last-resort option 43 and the DOCSIS3 vendor options in "docsis3-v4" and "vendor-4491").
func StandardOptionDefs() []*OptionDef {
	var out []*OptionDef
	add := func(space string, list []stdDef) {
		for _, s := range list {
			out = append(out, &OptionDef{Name: s.name, Code: s.code, Type: s.typ, Array: s.array,
				RecordTypes: append([]string(nil), s.record...), Space: space, Encapsulate: s.encapsulate})
		}
	}
	add(SpaceDHCP4, stdV4Defs)
	add(SpaceDHCP4, lastResortV4Defs)
	add("dhcp-agent-options-space", stdAgentDefs)
	add(SpaceDOCSIS3V4, docsis3V4Defs)
	add(SpaceVendor4491, docsis3V4Defs)
	return out
}

// newStdDefs returns the standard definitions only.
func newStdDefs() *OptionDefs {
	d := &OptionDefs{byName: map[string]map[string]*OptionDef{}, byCode: map[string]map[uint8]*OptionDef{}}
	for _, od := range StandardOptionDefs() {
		d.put(od)
	}
	return d
}

func (d *OptionDefs) put(od *OptionDef) {
	if d.byName[od.Space] == nil {
		d.byName[od.Space] = map[string]*OptionDef{}
		d.byCode[od.Space] = map[uint8]*OptionDef{}
	}
	d.byName[od.Space][od.Name] = od
	d.byCode[od.Space][od.Code] = od
}

// ByName returns the definition of name in space, or nil.
func (d *OptionDefs) ByName(space, name string) *OptionDef { return d.byName[space][name] }

// ByCode returns the definition of code in space, or nil.
func (d *OptionDefs) ByCode(space string, code uint8) *OptionDef { return d.byCode[space][code] }

// clone returns a copy that can be extended without changing d.
func (d *OptionDefs) clone() *OptionDefs {
	c := &OptionDefs{byName: map[string]map[string]*OptionDef{}, byCode: map[string]map[uint8]*OptionDef{}}
	for _, m := range d.byName {
		for _, od := range m {
			c.put(od)
		}
	}
	return c
}

// isStd reports whether code has a standard (non last-resort) definition in
// the dhcp4 space, which option-def may not override.
func isStd(space string, code uint8) bool {
	if space != SpaceDHCP4 {
		return false
	}
	for _, s := range stdV4Defs {
		if s.code == code {
			return true
		}
	}
	return false
}

// addCustom validates a custom definition and adds it to d.
func (d *OptionDefs) addCustom(od *OptionDef) error {
	if od.Name == "" {
		return errAt(od.Pos, "name", "option definition name must not be empty")
	}
	if strings.ContainsAny(od.Name, " \t,") {
		return errAt(od.Pos, "name", "invalid option name '%s'", od.Name)
	}
	if !optionTypes[od.Type] {
		return errAt(od.Pos, "type", "option data type '%s' does not exist", od.Type)
	}
	if od.Space == SpaceDHCP4 && (od.Code == 0 || od.Code == 255) {
		return errAt(od.Pos, "code", "invalid option code '%d': reserved for PAD/END", od.Code)
	}
	if isStd(od.Space, od.Code) {
		return errAt(od.Pos, "code", "unable to override definition of option '%d' in standard option space '%s'", od.Code, od.Space)
	}
	if od.Type == "record" {
		if len(od.RecordTypes) == 0 {
			return errAt(od.Pos, "record-types", "record option definition '%s' needs record-types", od.Name)
		}
		for _, t := range od.RecordTypes {
			if !optionTypes[t] || t == "record" || t == "empty" {
				return errAt(od.Pos, "record-types", "invalid record field type '%s'", t)
			}
		}
	} else if len(od.RecordTypes) > 0 {
		return errAt(od.Pos, "record-types", "record-types given for non-record option definition '%s'", od.Name)
	}
	if od.Array && (od.Type == "string" || od.Type == "empty" || od.Type == "binary") {
		return errAt(od.Pos, "array", "option definition '%s' of type %s cannot be an array", od.Name, od.Type)
	}
	if prev := d.byCode[od.Space][od.Code]; prev != nil && !(prev.Space == SpaceDHCP4 && prev.Code == 43 && od.Space == SpaceDHCP4) {
		if prev.Pos != (Pos{}) {
			return errAt(od.Pos, "code", "option definition with code '%d' already exists in option space '%s'", od.Code, od.Space)
		}
	}
	if prev := d.byName[od.Space][od.Name]; prev != nil && prev.Code != od.Code {
		return errAt(od.Pos, "name", "option definition with name '%s' already exists in option space '%s'", od.Name, od.Space)
	}
	d.put(od)
	return nil
}

func (od *OptionDef) String() string { return fmt.Sprintf("%s.%s", od.Space, od.Name) }
