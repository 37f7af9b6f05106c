// Package classify implements Kea 2.2's client classification for DHCPv4:
// the expression language of client-class "test" strings and the order in
// which classes are assigned to a packet.
//
// Expressions are compiled once, at configuration load, into a tree of
// closures (Compile); evaluating one per packet (Expr.Eval) parses nothing
// and allocates only for functions that build new byte strings.
//
// Values follow Kea's model: every value is a byte string, booleans are the
// strings "true" and "false", missing data is the empty string, and both
// operands of "and"/"or" are always evaluated. The grammar is statically
// typed, so a boolean where a string is expected (or the reverse) is a
// compile error; the only run-time errors come from functions given input
// of the wrong size (addrtotext, int*totext) or out-of-range integer
// parameters. A class whose test fails at run time is not assigned.
//
// Classifier applies Kea's configuration checks to the ordered class
// definitions and assigns classes in Kea's phases; see its methods.
//
// Known deviation: option[N].text of a non-string option mimics Kea's
// debug text for the types Kea uses for standard options (binary, integers,
// integer arrays, boolean, ipv4-address, ipv4-address lists, and options
// carrying sub-options); record and fqdn options are rendered as binary.
// Only the standard DHCPv4 option names are known to option[name].
package classify
