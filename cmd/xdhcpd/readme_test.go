package main

import (
	"os"
	"strings"
	"testing"

	"github.com/xdhcp/xdhcp/config"
)

// TestReadmeListsUnimplemented keeps the README's list of accepted but
// unimplemented parameters in step with what the config package warns about.
func TestReadmeListsUnimplemented(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, name := range config.Unimplemented() {
		if !strings.Contains(readme, "`"+name+"`") {
			t.Errorf("README.md does not list the unimplemented parameter %q", name)
		}
	}
}
