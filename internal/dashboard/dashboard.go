// Package dashboard reads the PromQL of a Grafana dashboard
// (docs/grafana/xdhcp.json) for tests: every panel target's expr and every
// query variable's label_values(...) query, and the metric names each one
// selects, so tests can check that the dashboard only names metrics the
// daemon exports.
package dashboard

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
)

// Query is one PromQL expression of the dashboard and where it is.
type Query struct {
	Where string // panel title and refId, or the variable's name
	Expr  string // as written, Grafana variables included
}

// Load reads a dashboard file and returns its queries: panel targets
// (rows' nested panels included) and query variables.
func Load(path string) ([]Query, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d struct {
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("parse dashboard %s: %w", path, err)
	}
	var qs []Query
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				qs = append(qs, Query{Where: fmt.Sprintf("panel %q target %s", p.Title, t.RefID), Expr: t.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			var s string
			if err := json.Unmarshal(v.Query, &s); err != nil {
				return nil, fmt.Errorf("variable %s: query is neither a string nor an object", v.Name)
			}
			q.Query = s
		}
		expr, ok := labelValues(q.Query)
		if !ok {
			return nil, fmt.Errorf("variable %s: query %q is not label_values(<selector>, <label>)", v.Name, q.Query)
		}
		qs = append(qs, Query{Where: "variable " + v.Name, Expr: expr})
	}
	return qs, nil
}

type panel struct {
	Title   string `json:"title"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

var labelValuesRe = regexp.MustCompile(`^\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)

// labelValues returns the selector of label_values(selector, label).
func labelValues(q string) (string, bool) {
	m := labelValuesRe.FindStringSubmatch(q)
	if m == nil {
		return "", false
	}
	return m[1], true
}

var (
	rangeVar = regexp.MustCompile(`\$\{?__(rate_interval|interval|range)\}?`)
	plainVar = regexp.MustCompile(`\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?`)
)

// Expand replaces Grafana's variables with values PromQL accepts: range
// variables with 5m, others (used in label regexes) with .*.
func Expand(expr string) string {
	expr = rangeVar.ReplaceAllString(expr, "5m")
	return plainVar.ReplaceAllString(expr, ".*")
}

// keywords are PromQL words that are not metric names.
var keywords = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
	"group_left", "group_right", "inf", "nan", "start", "end", "atan2"}

// aggregations may be followed by a by/without clause before their "(".
var aggregations = []string{"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
	"count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"}

// groupings are followed by a parenthesised list of label names.
var groupings = []string{"by", "without", "on", "ignoring", "group_left", "group_right"}

// Metrics returns the metric names an expression selects, in order of
// appearance, each once. It skips strings, label matchers ({...}), range
// and subquery brackets ([...]), numbers, function and aggregation names
// (an identifier followed by "("; aggregation operators also before a
// by/without clause), keywords and the label lists of
// by/without/on/ignoring/group_left/group_right. It also reads
// {__name__="..."} matchers.
func Metrics(expr string) []string {
	var out []string
	add := func(n string) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	nameMatcher := regexp.MustCompile(`__name__\s*=\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"`)
	s := expr
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(s, i)
		case c == '{':
			end := closing(s, i, '{', '}')
			for _, m := range nameMatcher.FindAllStringSubmatch(s[i:end], -1) {
				add(m[1])
			}
			i = end
		case c == '[':
			i = closing(s, i, '[', ']')
		case c >= '0' && c <= '9' || c == '.':
			j := i
			for j < len(s) && (isIdent(s[j]) || s[j] == '.') {
				j++
			}
			i = j
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			word := s[i:j]
			k := j
			for k < len(s) && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n') {
				k++
			}
			switch {
			case slices.Contains(groupings, strings.ToLower(word)):
				if k < len(s) && s[k] == '(' {
					j = closing(s, k, '(', ')')
				}
			case slices.Contains(keywords, strings.ToLower(word)), slices.Contains(aggregations, strings.ToLower(word)):
			case k < len(s) && s[k] == '(':
				// a function or aggregation
			default:
				add(word)
			}
			i = j
		default:
			i++
		}
	}
	return out
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdent(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// skipString returns the index after the string literal starting at i.
func skipString(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		if s[j] == '\\' && q != '`' {
			j++
			continue
		}
		if s[j] == q {
			return j + 1
		}
	}
	return len(s)
}

// closing returns the index after the bracket that closes the one at i,
// skipping strings.
func closing(s string, i int, open, close byte) int {
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '"', '\'', '`':
			j = skipString(s, j) - 1
		case open:
			depth++
		case close:
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(s)
}
