package config

import "fmt"

// String formats the position as file:line:col.
func (p Pos) String() string {
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is a configuration error at a position in a file.
type Error struct {
	Pos   Pos
	Param string // offending parameter, "" if none
	Msg   string
}

// Error formats the error as "file:line:col: msg (parameter X)".
func (e *Error) Error() string {
	if e.Param == "" {
		return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
	}
	return fmt.Sprintf("%s: %s (parameter %s)", e.Pos, e.Msg, e.Param)
}

// Warning is a non-fatal remark about a configuration.
type Warning struct {
	Pos Pos
	Msg string
}

// String formats the warning as "file:line:col: msg".
func (w Warning) String() string { return fmt.Sprintf("%s: %s", w.Pos, w.Msg) }

func errAt(pos Pos, param, format string, args ...any) *Error {
	return &Error{Pos: pos, Param: param, Msg: fmt.Sprintf(format, args...)}
}
