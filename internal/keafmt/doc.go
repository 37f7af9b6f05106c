// Package keafmt is the one home of Kea 2.2's text formats that more than
// one package reads or writes: the hex forms of option data, hardware
// addresses and client identifiers (hex.go), JSON strings with Kea's byte
// semantics (jsonstring.go) and Kea's Element JSON as a lease's user
// context holds it (element.go).
//
// Kea's rules differ by use, so each function mirrors one Kea routine, is
// named after it and says in its comment which rules it keeps and where it
// is more lenient than Kea; none is a merged behaviour.
//
// keafmt is a leaf: it imports no other project package, and every package
// may import it (config, userspace/lease, userspace/leasecmds, ha).
package keafmt
