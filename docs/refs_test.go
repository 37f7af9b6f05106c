// Package docs holds the project's notes (docs/kea: the Kea 2.2 behaviour
// the code relies on). Its test keeps the references to them resolving.
package docs

import (
	"bufio"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// mdRef matches a Markdown file named in a comment, optionally followed by
// a section (§4, §4.2) or a range of sections (§4.2-4.5, §10–11).
var mdRef = regexp.MustCompile(`([A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md)(?: §([0-9]+(?:\.[0-9]+)*)(?:[-–]§?([0-9]+(?:\.[0-9]+)*))?)?`)

// otherRef matches a § that cites a document outside the repository by a
// name a reader can look up: an RFC or one of the project's issues.
var otherRef = regexp.MustCompile(`(?:RFC [0-9]+|issue [0-9]+) §`)

// sectionMark is a section citation: § and a number.
var sectionMark = regexp.MustCompile(`§[0-9]`)

// heading matches a section heading of a note: "## §4 Title", "### §4.2 Title".
var heading = regexp.MustCompile(`^#{1,6} §([0-9]+(?:\.[0-9]+)*)(?:\s|$)`)

// ref is one citation found in a comment.
type ref struct {
	where   string // file:line
	dir     string // directory of the citing file, for relative names
	file    string // as written
	section []string
}

// TestCommentReferencesResolve fails when a comment in a Go, C, header or
// shell file names a .md file that does not exist (relative to the
// repository root or to the citing file), or a § section that the file
// has no heading for.
func TestCommentReferencesResolve(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	var refs []ref
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		var comments []comment
		switch filepath.Ext(path) {
		case ".go":
			comments, err = goComments(path)
		case ".c", ".h":
			comments, err = cComments(path)
		case ".sh":
			comments, err = shellComments(path)
		case ".md":
			if filepath.Base(filepath.Dir(path)) == "kea" {
				comments, err = plainLines(path) // the notes cite each other
			}
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		const self = "docs/refs_test.go" // its comments describe the forms
		for _, c := range comments {
			if i := bareSection(c.text); i >= 0 && filepath.Ext(path) != ".md" && rel != self {
				t.Errorf("%s:%d: a § that names no file: %q", rel, c.line, c.text[max(0, i-30):])
			}
			for _, m := range mdRef.FindAllStringSubmatch(c.text, -1) {
				if strings.Contains(m[1], "://") {
					continue
				}
				r := ref{where: fmt.Sprintf("%s:%d", rel, c.line), dir: filepath.Dir(path), file: m[1]}
				for _, s := range m[2:] {
					if s != "" {
						r.section = append(r.section, s)
					}
				}
				refs = append(refs, r)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) < 40 {
		t.Fatalf("found only %d references to .md files; the scanner is broken", len(refs))
	}
	sections := map[string]map[string]bool{}
	for _, r := range refs {
		path := resolve(root, r.dir, r.file)
		if path == "" {
			t.Errorf("%s: %s does not exist (relative to the repository or the file)", r.where, r.file)
			continue
		}
		if len(r.section) == 0 {
			continue
		}
		have, ok := sections[path]
		if !ok {
			have, err = headings(path)
			if err != nil {
				t.Fatal(err)
			}
			sections[path] = have
		}
		for _, s := range r.section {
			if !have[s] {
				t.Errorf("%s: %s has no section heading §%s", r.where, r.file, s)
			}
		}
	}
}

// TestScannerFindsKnownCitations guards the scanner itself: a citation in
// each comment syntax is found, with its sections.
func TestScannerFindsKnownCitations(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.go": "package a\n\n// see docs/kea/memfile.md §10–11\nvar s = \"x.md §1\"\n",
		"b.c":  "int x; /* docs/kea/lb-hash.md §2 */\n// y.md\n",
		"c.sh": "#!/bin/sh\necho z.md # w.md §4.2-4.5\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, f := range []struct {
		name  string
		parse func(string) ([]comment, error)
	}{{"a.go", goComments}, {"b.c", cComments}, {"c.sh", shellComments}} {
		cs, err := f.parse(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			for _, m := range mdRef.FindAllStringSubmatch(c.text, -1) {
				got = append(got, fmt.Sprintf("%d:%s|%s|%s", c.line, m[1], m[2], m[3]))
			}
		}
	}
	want := "3:docs/kea/memfile.md|10|11 1:docs/kea/lb-hash.md|2| 2:y.md|| 2:w.md|4.2|4.5"
	if strings.Join(got, " ") != want {
		t.Errorf("citations = %q, want %q", strings.Join(got, " "), want)
	}
}

// bareSection returns the byte offset of the first §N in text that is not
// part of a "<file>.md §N", "RFC N §N" or "issue N §N" reference, or -1.
func bareSection(text string) int {
	var covered [][]int
	for _, m := range mdRef.FindAllStringSubmatchIndex(text, -1) {
		if m[4] >= 0 { // with a section
			covered = append(covered, m[:2])
		}
	}
	covered = append(covered, otherRef.FindAllStringIndex(text, -1)...)
	for _, m := range sectionMark.FindAllStringIndex(text, -1) {
		inside := false
		for _, c := range covered {
			if m[0] >= c[0] && m[0] < c[1] {
				inside = true
				break
			}
		}
		if !inside {
			return m[0]
		}
	}
	return -1
}

func TestBareSection(t *testing.T) {
	for text, want := range map[string]bool{
		"see docs/kea/memfile.md §10–11 and RFC 2131 §4.1": false,
		"ha-protocol.md §4.2-§4.5":                         false,
		"issue 5 §4 (a)/(b)":                               false,
		"the reply (§4.1)":                                 true,
		"docs/kea/lb-hash.md §2 and §3":                    true,
		"no section at all":                                false,
		"the § sign alone":                                 false,
	} {
		if got := bareSection(text) >= 0; got != want {
			t.Errorf("bareSection(%q) found one: %v, want %v", text, got, want)
		}
	}
}

// resolve returns the existing path name refers to, or "".
func resolve(root, dir, name string) string {
	for _, base := range []string{root, dir} {
		p := filepath.Join(base, filepath.FromSlash(name))
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// headings returns the § numbers a note has headings for.
func headings(path string) (map[string]bool, error) {
	lines, err := plainLines(path)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, l := range lines {
		if m := heading.FindStringSubmatch(l.text); m != nil {
			have[m[1]] = true
		}
	}
	return have, nil
}

// comment is the text of a comment starting on a line.
type comment struct {
	line int
	text string
}

func goComments(path string) ([]comment, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	var out []comment
	for _, g := range f.Comments {
		for _, c := range g.List {
			line := fset.Position(c.Pos()).Line
			for i, l := range strings.Split(c.Text, "\n") {
				out = append(out, comment{line + i, l})
			}
		}
	}
	return out, nil
}

// cComments finds // and /* */ comments; string literals in our C do not
// contain comment markers, so no string handling is needed.
func cComments(path string) ([]comment, error) {
	lines, err := plainLines(path)
	if err != nil {
		return nil, err
	}
	var out []comment
	inBlock := false
	for _, l := range lines {
		s := l.text
		for s != "" {
			if inBlock {
				end := strings.Index(s, "*/")
				if end < 0 {
					out = append(out, comment{l.line, s})
					break
				}
				out = append(out, comment{l.line, s[:end]})
				s, inBlock = s[end+2:], false
				continue
			}
			block, line := strings.Index(s, "/*"), strings.Index(s, "//")
			if line >= 0 && (block < 0 || line < block) {
				out = append(out, comment{l.line, s[line+2:]})
				break
			}
			if block < 0 {
				break
			}
			s, inBlock = s[block+2:], true
		}
	}
	return out, nil
}

// shellComments takes what follows a '#' that starts a word.
func shellComments(path string) ([]comment, error) {
	lines, err := plainLines(path)
	if err != nil {
		return nil, err
	}
	var out []comment
	for _, l := range lines {
		s := l.text
		for i := 0; i < len(s); i++ {
			if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
				out = append(out, comment{l.line, s[i+1:]})
				break
			}
		}
	}
	return out, nil
}

func plainLines(path string) ([]comment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	var out []comment
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for n := 1; sc.Scan(); n++ {
		out = append(out, comment{n, sc.Text()})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}
