package classify

import (
	"errors"
	"fmt"
	"strings"
)

// Built-in class names and prefixes (Kea 2.2 client_class_def.cc). DROP is
// not built in but special: a packet in it is dropped.
const (
	ClassAll     = "ALL"
	ClassKnown   = "KNOWN"
	ClassUnknown = "UNKNOWN"
	ClassBootp   = "BOOTP"
	ClassDrop    = "DROP"

	// VendorClassPrefix + option 60's string is added to every packet
	// carrying option 60.
	VendorClassPrefix = "VENDOR_CLASS_"
)

// Fixed bits of the built-in names in every Classifier's name table.
const (
	idAll = iota
	idKnown
	idUnknown
	idBootp
	idDrop
)

var (
	builtinNames    = []string{ClassAll, ClassKnown, ClassUnknown, ClassBootp}
	builtinPrefixes = []string{VendorClassPrefix, "HA_", "AFTER_", "EXTERNAL_"}
)

// IsBuiltin reports whether a class name is built in: ALL, KNOWN, UNKNOWN,
// BOOTP, or a name with a reserved prefix (VENDOR_CLASS_, HA_, AFTER_,
// EXTERNAL_). Built-in names count as defined for member().
func IsBuiltin(name string) bool {
	for _, n := range builtinNames {
		if name == n {
			return true
		}
	}
	for _, p := range builtinPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// ClassDef is one entry of Dhcp4 client-classes, in configuration order.
type ClassDef struct {
	Name           string
	Test           string // empty: no test (assigned only by reservations)
	OnlyIfRequired bool   // evaluated only through require-client-classes
}

// Classifier holds the compiled client classes and assigns them to packets
// in Kea 2.2's order (docs/kea/expressions.md §6). It is immutable and safe for
// concurrent use; each packet needs its own Set.
//
// Per packet the engine calls, in order:
//
//  1. NewSet (or Reset a pooled one) and Add any pre-set classes, such as
//     the HA hook's HA_<server> (step 1).
//  2. Classify: ALL, VENDOR_CLASS_<option 60>, then pass 1 over the classes
//     that do not depend on KNOWN/UNKNOWN (steps 2-5). Drop if it says so.
//  3. Subnet selection and host reservation lookup (the engine's job).
//  4. ClassifyKnown: KNOWN or UNKNOWN, the reservation's client-classes,
//     then pass 2 over the classes that depend on KNOWN/UNKNOWN (steps 7-9).
//     Drop if it says so.
//  5. Allocation; pool/subnet client-class checks use Set.Has.
//  6. EvalRequired with the require-client-classes lists of the shared
//     network, subnet and pool (step 11).
type Classifier struct {
	classes []class
	byName  map[string]int // class name -> index in classes
	tab     *nameTable
	// vendorNames maps option 60 values to the VENDOR_CLASS_ names the
	// configuration uses, so adding those allocates nothing.
	vendorNames map[string]string
}

type class struct {
	name           string
	id             int   // bit in the name table
	expr           *Expr // nil: no test
	onlyIfRequired bool
	dependsOnKnown bool
}

// NewClassifier compiles the class definitions and applies Kea's
// configuration checks: names are non-empty and unique; built-in names may
// be declared only without a test and without only-if-required; DROP may not
// be only-if-required; every member() names a built-in class or a class
// defined earlier in the list. A class depends on KNOWN/UNKNOWN if its test
// uses member('KNOWN'), member('UNKNOWN') or member() of a class that does.
func NewClassifier(defs []ClassDef) (*Classifier, error) {
	c := &Classifier{byName: make(map[string]int, len(defs)), tab: &nameTable{ids: map[string]int{}}}
	addName := c.tab.add
	for _, n := range builtinNames { // ids 0-3, in this order
		addName(n)
	}
	addName(ClassDrop) // id 4
	for i, d := range defs {
		if d.Name == "" {
			return nil, fmt.Errorf("client class #%d: name is empty", i)
		}
		if _, dup := c.byName[d.Name]; dup {
			return nil, fmt.Errorf("client class %q: defined twice", d.Name)
		}
		for _, n := range builtinNames {
			if d.Name != n {
				continue
			}
			if d.OnlyIfRequired {
				return nil, fmt.Errorf("client class %q: built-in class must not be only-if-required", d.Name)
			}
			if d.Test != "" {
				return nil, fmt.Errorf("client class %q: built-in class must not have a test", d.Name)
			}
		}
		if d.Name == ClassDrop && d.OnlyIfRequired {
			return nil, fmt.Errorf("client class %q: special class must not be only-if-required", d.Name)
		}
		cl := class{name: d.Name, onlyIfRequired: d.OnlyIfRequired}
		if d.Test != "" {
			e, err := Compile(d.Test)
			if err != nil {
				return nil, fmt.Errorf("client class %q: %w", d.Name, err)
			}
			for _, m := range e.members {
				switch {
				case m.name == ClassKnown || m.name == ClassUnknown:
					cl.dependsOnKnown = true
				case IsBuiltin(m.name):
				default:
					j, ok := c.byName[m.name]
					if !ok {
						return nil, fmt.Errorf("client class %q: member(%q): not defined client class", d.Name, m.name)
					}
					if c.classes[j].dependsOnKnown {
						cl.dependsOnKnown = true
					}
				}
				addName(m.name)
			}
			cl.expr = e
		}
		addName(d.Name)
		c.byName[d.Name] = len(c.classes)
		c.classes = append(c.classes, cl)
	}
	c.vendorNames = map[string]string{}
	for n := range c.tab.ids {
		if v, ok := strings.CutPrefix(n, VendorClassPrefix); ok {
			c.vendorNames[v] = n
		}
	}
	for i := range c.classes {
		cl := &c.classes[i]
		cl.id = c.tab.ids[cl.name]
		if cl.expr == nil {
			continue
		}
		for _, m := range cl.expr.members {
			m.id = c.tab.ids[m.name]
		}
	}
	return c, nil
}

// Defined reports whether a class is defined in the configuration or is
// built in.
func (c *Classifier) Defined(name string) bool {
	_, ok := c.byName[name]
	return ok || IsBuiltin(name)
}

// DependsOnKnown reports whether a defined class is evaluated in pass 2.
func (c *Classifier) DependsOnKnown(name string) bool {
	i, ok := c.byName[name]
	return ok && c.classes[i].dependsOnKnown
}

// NewSet returns an empty class set indexed for this classifier.
func (c *Classifier) NewSet() *Set {
	s := &Set{}
	s.bind(c.tab)
	return s
}

// Classify performs steps 2-5 of Kea's order on a set that already holds
// any pre-set classes (HA_<server>): it adds ALL, then VENDOR_CLASS_ +
// option 60's string if present, then evaluates in configuration order
// every class that has a test, is not only-if-required and does not depend
// on KNOWN/UNKNOWN, adding those that match (so later tests see them).
// drop reports that the packet is in DROP. err joins the failures of tests
// that could not be evaluated; those classes are not assigned and the
// packet goes on (Kea logs them).
func (c *Classifier) Classify(p *Packet, s *Set) (drop bool, err error) {
	s.bind(c.tab)
	s.addID(idAll, ClassAll)
	if p != nil && p.Msg != nil {
		if v, ok := p.Msg.Options[60]; ok {
			if v = trimNUL(v); len(v) > 0 {
				if name, ok := c.vendorNames[string(v)]; ok {
					s.Add(name)
				} else {
					s.Add(VendorClassPrefix + string(v))
				}
			}
		}
	}
	err = c.pass(p, s, false)
	return s.hasID(idDrop), err
}

// ClassifyKnown performs steps 7-9, after the host reservation lookup: it
// adds KNOWN if the client has a reservation (known) or UNKNOWN if not,
// then the reservation's client-classes, then evaluates the classes that
// depend on KNOWN/UNKNOWN like Classify does. drop and err are as for
// Classify.
func (c *Classifier) ClassifyKnown(p *Packet, s *Set, known bool, hostClasses []string) (drop bool, err error) {
	s.bind(c.tab)
	if known {
		s.addID(idKnown, ClassKnown)
	} else {
		s.addID(idUnknown, ClassUnknown)
	}
	for _, n := range hostClasses {
		s.Add(n)
	}
	err = c.pass(p, s, true)
	return s.hasID(idDrop), err
}

// pass evaluates the non-required classes of one pass.
func (c *Classifier) pass(p *Packet, s *Set, dependsOnKnown bool) error {
	var errs []error
	ctx := getCtx(p)
	ctx.set = s
	defer putCtx(ctx)
	for i := range c.classes {
		cl := &c.classes[i]
		if cl.expr == nil || cl.onlyIfRequired || cl.dependsOnKnown != dependsOnKnown {
			continue
		}
		ok, err := cl.expr.evalIn(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("client class %q: %w", cl.name, err))
			continue
		}
		if ok {
			s.addID(cl.id, cl.name)
		}
	}
	return errors.Join(errs...)
}

// EvalRequired performs step 11, after allocation: it evaluates the
// classes named in the given require-client-classes lists (pass the shared
// network's, the subnet's and the pool's, in that order), each name once,
// whether or not the class is only-if-required, and adds those whose test
// is true. Undefined names and classes without a test are skipped, as Kea
// does. err is as for Classify.
func (c *Classifier) EvalRequired(p *Packet, s *Set, lists ...[]string) error {
	s.bind(c.tab)
	var errs []error
	ctx := getCtx(p)
	ctx.set = s
	defer putCtx(ctx)
	for li, list := range lists {
		for ni, name := range list {
			if seenBefore(lists, li, ni) {
				continue
			}
			i, ok := c.byName[name]
			if !ok || c.classes[i].expr == nil {
				continue
			}
			match, err := c.classes[i].expr.evalIn(ctx)
			if err != nil {
				errs = append(errs, fmt.Errorf("client class %q: %w", name, err))
				continue
			}
			if match {
				s.addID(c.classes[i].id, name)
			}
		}
	}
	return errors.Join(errs...)
}

// seenBefore reports whether lists[li][ni] appeared earlier in the lists.
func seenBefore(lists [][]string, li, ni int) bool {
	name := lists[li][ni]
	for l := 0; l <= li; l++ {
		end := len(lists[l])
		if l == li {
			end = ni
		}
		for _, n := range lists[l][:end] {
			if n == name {
				return true
			}
		}
	}
	return false
}
