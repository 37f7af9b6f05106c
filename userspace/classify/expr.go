package classify

import (
	"sync"
)

// Expr is a compiled boolean expression (a client-class test). It is
// immutable and safe for concurrent use.
type Expr struct {
	src     string
	eval    boolFn
	members []*memberRef // every member() in the expression
}

// memberRef is one member('name') call. id is filled in by a Classifier
// (index into its name table) so membership is a bit test; -1 otherwise.
type memberRef struct {
	name string
	id   int
}

// evalCtx is the per-evaluation state. buf is an arena for values built
// during the evaluation; results are full-slice-capped sub-slices of it, so
// later appends never overwrite them (if buf grows the old array stays
// alive through the slices that point into it).
type evalCtx struct {
	p      *Packet
	member func(string) bool
	set    *Set
	buf    []byte
}

type (
	strFn  func(*evalCtx) ([]byte, error)
	boolFn func(*evalCtx) (bool, error)
)

var ctxPool = sync.Pool{New: func() any { return &evalCtx{buf: make([]byte, 0, 256)} }}

// maxPooledBuf bounds the arena kept in the pool after an evaluation that
// built a very large value.
const maxPooledBuf = 64 << 10

// Compile parses a Kea 2.2 boolean expression. Option names are resolved
// against the standard DHCPv4 definitions; member() names are not checked
// here (NewClassifier checks them against the class definitions). The
// error is a *SyntaxError naming the column.
func Compile(expr string) (*Expr, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &parser{src: expr, toks: toks, e: &Expr{src: expr}}
	n, err := p.parseTest()
	if err != nil {
		return nil, err
	}
	p.e.eval = n
	return p.e, nil
}

// String returns the source text of the expression.
func (e *Expr) String() string { return e.src }

// Members returns the class names the expression tests with member(), in
// order of appearance (duplicates kept).
func (e *Expr) Members() []string {
	out := make([]string, len(e.members))
	for i, m := range e.members {
		out[i] = m.name
	}
	return out
}

// Eval evaluates the expression against a packet. member answers
// member('X'); nil means "in no class". An error means the test could not
// be evaluated (Kea then does not assign the class).
func (e *Expr) Eval(p *Packet, member func(class string) bool) (bool, error) {
	c := getCtx(p)
	c.member = member
	ok, err := e.eval(c)
	putCtx(c)
	return ok, err
}

// evalIn evaluates with a context from getCtx (membership answered by
// c.set), resetting its arena first.
func (e *Expr) evalIn(c *evalCtx) (bool, error) {
	c.buf = c.buf[:0]
	return e.eval(c)
}

func getCtx(p *Packet) *evalCtx {
	c := ctxPool.Get().(*evalCtx)
	c.p = p
	c.buf = c.buf[:0]
	return c
}

func putCtx(c *evalCtx) {
	c.p, c.member, c.set = nil, nil, nil
	if cap(c.buf) > maxPooledBuf {
		c.buf = make([]byte, 0, 256)
	}
	ctxPool.Put(c)
}

// mark returns the arena position where a new value starts.
func (c *evalCtx) mark() int { return len(c.buf) }

// since returns the value appended since mark, capped so later appends
// cannot write into it.
func (c *evalCtx) since(m int) []byte { return c.buf[m:len(c.buf):len(c.buf)] }

// hasClass answers member() for a reference.
func (c *evalCtx) hasClass(m *memberRef) bool {
	if c.set != nil {
		return c.set.hasRef(m)
	}
	if c.member != nil {
		return c.member(m.name)
	}
	return false
}
