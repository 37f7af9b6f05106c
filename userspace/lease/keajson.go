package lease

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/xdhcp/xdhcp/internal/keafmt"
)

// FormatUserContext validates a user context (it must be a JSON map) and
// returns it in Kea's serialisation (Element::str): `{ "a": 1, "b": [ 2, 3 ] }`
// with keys sorted, ", " between items and a space inside brackets. "" and
// "null" mean no context and yield "".
//
// Strings are byte strings as in Kea: "\u00XX" reads as byte XX, and bytes
// below 0x20 or from 0x7f are written as \u00XX (so UTF-8 "é" is written
// "\u00c3\u00a9", exactly as Kea 2.2 writes it).
func FormatUserContext(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "null" {
		return "", nil
	}
	v, err := keafmt.ParseElement(s)
	if err != nil {
		return "", fmt.Errorf("parse user context: %w", err)
	}
	if _, ok := v.(map[string]any); !ok {
		return "", errors.New("user context is not a map")
	}
	var b bytes.Buffer
	keafmt.WriteElement(&b, v)
	return b.String(), nil
}
