package config

import (
	"strconv"
)

// Kind is the JSON type of a Node.
type Kind uint8

// Node kinds.
const (
	KindNull Kind = iota
	KindBool
	KindNumber
	KindString
	KindMap
	KindList
)

// String names the kind for error messages.
func (k Kind) String() string {
	switch k {
	case KindNull:
		return "null"
	case KindBool:
		return "boolean"
	case KindNumber:
		return "number"
	case KindString:
		return "string"
	case KindMap:
		return "map"
	case KindList:
		return "list"
	}
	return "unknown"
}

// Node is a JSON value with the position where it starts.
type Node struct {
	Pos  Pos
	Kind Kind
	Bool bool
	// Str is the string value, or the literal text of a number.
	Str  string
	Map  []Member
	List []*Node
}

// Member is one key/value pair of a map, in file order.
type Member struct {
	Key    string
	KeyPos Pos
	Val    *Node
}

// Get returns the value of key in a map node, or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != KindMap {
		return nil
	}
	for i := range n.Map {
		if n.Map[i].Key == key {
			return n.Map[i].Val
		}
	}
	return nil
}

// IsInt reports whether a number node is an integer literal.
func (n *Node) IsInt() bool {
	if n.Kind != KindNumber {
		return false
	}
	_, err := strconv.ParseInt(n.Str, 10, 64)
	return err == nil
}

// Any converts the node to encoding/json-style generic values: map[string]any,
// []any, string, bool, nil, and int64 for integers or float64 otherwise.
func (n *Node) Any() any {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case KindBool:
		return n.Bool
	case KindNumber:
		if i, err := strconv.ParseInt(n.Str, 10, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(n.Str, 64)
		return f
	case KindString:
		return n.Str
	case KindMap:
		m := make(map[string]any, len(n.Map))
		for _, mb := range n.Map {
			m[mb.Key] = mb.Val.Any()
		}
		return m
	case KindList:
		l := make([]any, 0, len(n.List))
		for _, v := range n.List {
			l = append(l, v.Any())
		}
		return l
	}
	return nil
}
