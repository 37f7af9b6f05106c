package config

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteKea22 writes the configuration as plain JSON (no comments, includes
// inlined) that Kea 2.2 accepts: loggers use output_options.
func (c *Config) WriteKea22(w io.Writer) error {
	bw := bufio.NewWriter(w)
	writeNode(bw, c.root, 0, "")
	bw.WriteByte('\n')
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write kea config: %w", err)
	}
	return nil
}

// writeNode writes n indented; parent is the key that holds n (used to
// rename loggers' output-options).
func writeNode(w *bufio.Writer, n *Node, depth int, parent string) {
	ind := strings.Repeat("  ", depth+1)
	switch n.Kind {
	case KindNull:
		w.WriteString("null")
	case KindBool:
		if n.Bool {
			w.WriteString("true")
		} else {
			w.WriteString("false")
		}
	case KindNumber:
		w.WriteString(n.Str)
	case KindString:
		b, _ := json.Marshal(n.Str)
		w.Write(b)
	case KindMap:
		if len(n.Map) == 0 {
			w.WriteString("{ }")
			return
		}
		w.WriteString("{\n")
		for i, m := range n.Map {
			key := m.Key
			if parent == "loggers" && key == "output-options" {
				key = "output_options"
			}
			b, _ := json.Marshal(key)
			w.WriteString(ind)
			w.Write(b)
			w.WriteString(": ")
			writeNode(w, m.Val, depth+1, m.Key)
			if i < len(n.Map)-1 {
				w.WriteByte(',')
			}
			w.WriteByte('\n')
		}
		w.WriteString(ind[2:])
		w.WriteByte('}')
	case KindList:
		if len(n.List) == 0 {
			w.WriteString("[ ]")
			return
		}
		w.WriteString("[\n")
		for i, e := range n.List {
			w.WriteString(ind)
			// Elements of a list keep the list's key as parent so that
			// loggers[] maps are recognised.
			writeNode(w, e, depth+1, parent)
			if i < len(n.List)-1 {
				w.WriteByte(',')
			}
			w.WriteByte('\n')
		}
		w.WriteString(ind[2:])
		w.WriteByte(']')
	}
}
