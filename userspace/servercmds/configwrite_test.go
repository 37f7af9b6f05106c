package servercmds

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/xdhcp/xdhcp/userspace/control"
)

const rendered = `{ "Dhcp4": { } }` + "\n"

// configWriteEnv is a dispatcher whose daemon was started with dir/kea.conf.
func configWriteEnv(t *testing.T) (*control.Dispatcher, *recorder, string) {
	t.Helper()
	d, rec, _, _ := setup()
	dir := t.TempDir()
	rec.cfgFile = filepath.Join(dir, "kea.conf")
	if err := os.WriteFile(rec.cfgFile, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	return d, rec, dir
}

func configWrite(d *control.Dispatcher, filename any) control.Response {
	cmd := `{"command":"config-write"}`
	if filename != nil {
		b, _ := json.Marshal(map[string]any{"filename": filename})
		cmd = `{"command":"config-write","arguments":` + string(b) + `}`
	}
	return d.Dispatch(context.Background(), []byte(cmd))
}

// checkWritten checks path holds the rendered configuration, mode 0600,
// and that no temporary file was left in its directory.
func checkWritten(t *testing.T, r control.Response, path string) {
	t.Helper()
	want := fmt.Sprintf("Configuration written to %s successful", path)
	if r.Result != 0 || r.Text != want {
		t.Fatalf("got %+v, want %q", r, want)
	}
	if m := r.Arguments.(map[string]any); m["filename"] != path || m["size"] != int64(len(rendered)) {
		t.Errorf("arguments %v", m)
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("written file %v: %v", fi, err)
	}
	if b, _ := os.ReadFile(path); string(b) != rendered {
		t.Errorf("content %q", b)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func TestConfigWriteWritesInConfigDir(t *testing.T) {
	t.Run("default is the config file", func(t *testing.T) {
		d, rec, _ := configWriteEnv(t)
		checkWritten(t, configWrite(d, nil), rec.cfgFile)
	})
	t.Run("absolute name in the directory", func(t *testing.T) {
		d, _, dir := configWriteEnv(t)
		p := filepath.Join(dir, "written.json")
		checkWritten(t, configWrite(d, p), p)
	})
	t.Run("bare name is relative to the config directory", func(t *testing.T) {
		d, _, dir := configWriteEnv(t)
		checkWritten(t, configWrite(d, "copy.json"), filepath.Join(dir, "copy.json"))
	})
	t.Run("replaces an existing file, mode 0600", func(t *testing.T) {
		d, _, dir := configWriteEnv(t)
		p := filepath.Join(dir, "old.json")
		if err := os.WriteFile(p, []byte("old and longer than the new content, to be sure"), 0o644); err != nil {
			t.Fatal(err)
		}
		checkWritten(t, configWrite(d, p), p)
	})
}

func TestConfigWriteRefusals(t *testing.T) {
	outside := t.TempDir()
	tests := []struct {
		name     string
		filename func(dir string) string
		want     string
		mustNot  func(dir string) string // a path that must not be created or changed
	}{
		{"other directory", func(string) string { return filepath.Join(outside, "x.json") },
			"must be in the same directory as the config file", func(string) string { return filepath.Join(outside, "x.json") }},
		{"dot-dot escape", func(string) string { return "../x.json" },
			"must be in the same directory as the config file", func(dir string) string { return filepath.Join(filepath.Dir(dir), "x.json") }},
		{"absolute dot-dot escape", func(dir string) string { return dir + "/../x.json" },
			"must be in the same directory as the config file", func(dir string) string { return filepath.Join(filepath.Dir(dir), "x.json") }},
		{"subdirectory", func(dir string) string { return "sub/x.json" },
			"must be in the same directory as the config file", func(dir string) string { return filepath.Join(dir, "sub", "x.json") }},
		{"system file", func(string) string { return "/etc/passwd" }, "must be in the same directory as the config file", nil},
		{"no file name", func(dir string) string { return dir + "/" }, "is missing file name", nil},
		{"symlink to outside", func(dir string) string {
			if err := os.Symlink(filepath.Join(outside, "target.json"), filepath.Join(dir, "link.json")); err != nil {
				panic(err)
			}
			return "link.json"
		}, "is a symbolic link", func(string) string { return filepath.Join(outside, "target.json") }},
		{"dangling symlink", func(dir string) string {
			if err := os.Symlink("/nonexistent-xdhcp-target", filepath.Join(dir, "dangling.json")); err != nil {
				panic(err)
			}
			return filepath.Join(dir, "dangling.json")
		}, "is a symbolic link", func(string) string { return "/nonexistent-xdhcp-target" }},
		{"directory", func(dir string) string { return "sub" }, "is not a regular file", nil},
		{"fifo", func(dir string) string {
			if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
				panic(err)
			}
			return "fifo"
		}, "is not a regular file", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _, dir := configWriteEnv(t)
			if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			name := tt.filename(dir)
			var before []byte
			if tt.mustNot != nil {
				before, _ = os.ReadFile(tt.mustNot(dir))
			}
			r := configWrite(d, name)
			if r.Result != control.ResultError || !strings.HasPrefix(r.Text, "not allowed to write config into "+name+": ") || !strings.Contains(r.Text, tt.want) {
				t.Fatalf("got %+v, want result 1 %q", r, tt.want)
			}
			if tt.mustNot != nil {
				if after, _ := os.ReadFile(tt.mustNot(dir)); string(after) != string(before) {
					t.Errorf("%s changed by a refused config-write", tt.mustNot(dir))
				}
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("temporary file left: %s", e.Name())
				}
			}
		})
	}
	t.Run("config file itself a symlink", func(t *testing.T) {
		d, rec, dir := configWriteEnv(t)
		real := filepath.Join(outside, "real.conf")
		if err := os.WriteFile(real, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		rec.cfgFile = filepath.Join(dir, "linked.conf")
		if err := os.Symlink(real, rec.cfgFile); err != nil {
			t.Fatal(err)
		}
		if r := configWrite(d, nil); r.Result != 1 || !strings.Contains(r.Text, "is a symbolic link") {
			t.Fatalf("got %+v", r)
		}
		if b, _ := os.ReadFile(real); string(b) != "{}" {
			t.Errorf("link target written: %q", b)
		}
	})
	t.Run("no config file", func(t *testing.T) {
		d, rec, _ := configWriteEnv(t)
		rec.cfgFile = ""
		if r := configWrite(d, nil); r.Result != 1 || r.Text != "Unable to determine filename.Please specify filename explicitly." {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("not a string", func(t *testing.T) {
		d, _, _ := configWriteEnv(t)
		if r := configWrite(d, 5); r.Result != 1 || r.Text != "passed parameter 'filename' is not a string" {
			t.Fatalf("got %+v", r)
		}
	})
}
