package classify

import (
	"iter"
	"slices"
)

// Set is the ordered set of classes a packet belongs to: membership tests
// are bit tests for every name the Classifier knows (defined classes,
// built-ins and names used in member()), and the order of addition is kept
// for option precedence and logging. Get one from Classifier.NewSet; the
// zero Set works too (membership is then a linear scan). A Set is not safe
// for concurrent use.
type Set struct {
	tab   *nameTable
	bits  []uint64
	order []string
}

// Add adds a class. It reports false if the set already had it.
func (s *Set) Add(name string) bool {
	if id, ok := s.tab.id(name); ok {
		return s.addID(id, name)
	}
	if slices.Contains(s.order, name) {
		return false
	}
	s.order = append(s.order, name)
	return true
}

// addID adds a class whose bit in the bound name table is id.
func (s *Set) addID(id int, name string) bool {
	if s.hasID(id) {
		return false
	}
	s.bits[id>>6] |= 1 << (id & 63)
	s.order = append(s.order, name)
	return true
}

func (s *Set) hasID(id int) bool { return s.bits[id>>6]&(1<<(id&63)) != 0 }

// Has reports whether the set contains the class.
func (s *Set) Has(name string) bool {
	if id, ok := s.tab.id(name); ok {
		return s.hasID(id)
	}
	return slices.Contains(s.order, name)
}

// hasRef answers a member() reference resolved by the Classifier that made
// this set.
func (s *Set) hasRef(m *memberRef) bool {
	if m.id >= 0 && s.tab != nil {
		return s.hasID(m.id)
	}
	return s.Has(m.name)
}

// Len returns the number of classes.
func (s *Set) Len() int { return len(s.order) }

// All yields the classes in the order they were added.
func (s *Set) All() iter.Seq[string] { return slices.Values(s.order) }

// Names returns a copy of the classes in the order they were added.
func (s *Set) Names() []string { return slices.Clone(s.order) }

// Reset empties the set, keeping its storage for reuse.
func (s *Set) Reset() {
	clear(s.bits)
	s.order = s.order[:0]
}

// bind makes the set use a classifier's name table, re-indexing its
// contents if it was made by another classifier (or is the zero Set).
func (s *Set) bind(tab *nameTable) {
	if s.tab == tab {
		return
	}
	names := s.order
	*s = Set{tab: tab, bits: make([]uint64, (len(tab.ids)+63)/64), order: make([]string, 0, len(names)+4)}
	for _, n := range names {
		s.Add(n)
	}
}

// nameTable gives every class name a Classifier knows a bit in Set.bits.
type nameTable struct {
	ids map[string]int
}

func (t *nameTable) id(name string) (int, bool) {
	if t == nil {
		return 0, false
	}
	id, ok := t.ids[name]
	return id, ok
}

func (t *nameTable) add(name string) {
	if _, ok := t.ids[name]; !ok {
		t.ids[name] = len(t.ids)
	}
}
