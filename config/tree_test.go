package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSyntaxExtensions(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantValid uint32
		wantWarns int
	}{
		{"slash comments", "// top\n{ \"Dhcp4\": { // x\n \"valid-lifetime\": 10 } }", 10, 0},
		{"hash comments", "# top\n{ \"Dhcp4\": { # x\n \"valid-lifetime\": 11 } }", 11, 0},
		{"block comments", "/* a\n b */ { \"Dhcp4\": { /* \"valid-lifetime\": 1, */ \"valid-lifetime\": 12 } }", 12, 0},
		{"comment chars in strings", `{ "Dhcp4": { "server-hostname": "a//b#c/*d", "valid-lifetime": 13 } }`, 13, 0},
		{"trailing comma map", `{ "Dhcp4": { "valid-lifetime": 14, }, }`, 14, 2},
		{"trailing comma list", `{ "Dhcp4": { "valid-lifetime": 15, "host-reservation-identifiers": [ "hw-address", ] } }`, 15, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, warns, err := Parse("t.json", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := *c.Dhcp4.ValidLifetime; got != tt.wantValid {
				t.Errorf("valid-lifetime = %d, want %d", got, tt.wantValid)
			}
			if len(warns) != tt.wantWarns {
				t.Errorf("warnings = %v, want %d", warns, tt.wantWarns)
			}
			for _, w := range warns {
				if !strings.Contains(w.Msg, "Extraneous comma") {
					t.Errorf("unexpected warning %v", w)
				}
			}
		})
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestIncludes(t *testing.T) {
	dir := t.TempDir()
	// Relative include from the main file, and a nested relative include
	// resolved against the including file's own directory.
	writeFile(t, filepath.Join(dir, "sub", "opts.json"), "[\n  { \"name\": \"routers\", \"data\": \"192.0.2.1\" },\n  <?include \"more.json\"?>\n]")
	writeFile(t, filepath.Join(dir, "sub", "more.json"), "{ \"name\": \"domain-name\", \"data\": \"example.org\" }")
	writeFile(t, filepath.Join(dir, "bad.json"), "\n\n   { \"name\": \"routers\", \"data\": \"nope\" }")
	writeFile(t, filepath.Join(dir, "cycle.json"), `[ <?include "cycle.json"?> ]`)
	writeFile(t, filepath.Join(dir, "life.json"), `3600`)

	t.Run("relative and nested", func(t *testing.T) {
		main := filepath.Join(dir, "main.json")
		writeFile(t, main, `{ "Dhcp4": { "option-data": <?include "sub/opts.json"?>, "valid-lifetime": <?include "`+filepath.Join(dir, "life.json")+`"?> } }`)
		c, _, err := Load(main)
		if err != nil {
			t.Fatal(err)
		}
		od := c.Dhcp4.OptionData
		if len(od) != 2 || od[0].Code != 3 || od[1].Code != 15 || string(od[1].Wire) != "example.org" {
			t.Fatalf("option-data = %+v", od)
		}
		if od[1].Pos.File != filepath.Join(dir, "sub", "more.json") || od[1].Pos.Line != 1 || od[1].Pos.Col != 1 {
			t.Errorf("included option position = %v", od[1].Pos)
		}
		if od[0].Pos.Line != 2 || od[0].Pos.Col != 3 {
			t.Errorf("included option position = %v, want line 2 col 3", od[0].Pos)
		}
		if *c.Dhcp4.ValidLifetime != 3600 {
			t.Errorf("absolute include: valid-lifetime = %d", *c.Dhcp4.ValidLifetime)
		}
		if c.Tree()["Dhcp4"].(map[string]any)["valid-lifetime"] != int64(3600) {
			t.Errorf("Tree() lacks included value: %v", c.Tree())
		}
	})
	t.Run("error inside include", func(t *testing.T) {
		_, _, err := Parse(filepath.Join(dir, "m2.json"), []byte(`{ "Dhcp4": { "option-data": [ <?include "bad.json"?> ] } }`))
		if err == nil || !strings.HasPrefix(err.Error(), filepath.Join(dir, "bad.json")+":3:4: ") {
			t.Fatalf("error = %v, want it at bad.json:3:4", err)
		}
	})
	t.Run("cycle", func(t *testing.T) {
		_, _, err := Load(filepath.Join(dir, "cycle.json"))
		if err == nil || !strings.Contains(err.Error(), "include cycle") {
			t.Fatalf("error = %v, want include cycle", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		_, _, err := Parse(filepath.Join(dir, "m3.json"), []byte(`{ "Dhcp4": <?include "nope.json"?> }`))
		if err == nil || !strings.Contains(err.Error(), `include "nope.json"`) || !strings.Contains(err.Error(), ":1:12:") {
			t.Fatalf("error = %v", err)
		}
	})
}
