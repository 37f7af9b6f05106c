package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// The lab's addresses (scripts/lab.sh).
const (
	labCli = "198.18.0.1"
	labS1  = "198.18.0.11"
	labS2  = "198.18.0.12"
)

// lab is scripts/lab.sh's namespaces under our prefix.
type lab struct {
	root, prefix string
	relays       []string // 198.18.0.1..N on br0
	created      bool     // we made it: only then do we remove it
}

func (l *lab) ns(which string) string { return l.prefix + which }

// labExists reports whether any of prefix's namespaces exist.
func labExists(prefix string) (bool, error) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return false, fmt.Errorf("ip netns list: %w", err)
	}
	return nsListHas(string(out), prefix), nil
}

// nsListHas parses `ip netns list` ("name" or "name (id: N)" per line).
func nsListHas(list, prefix string) bool {
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		for _, w := range []string{"cli", "s1", "s2"} {
			if f[0] == prefix+w {
				return true
			}
		}
	}
	return false
}

// up creates the lab, refusing if one with this prefix exists, and adds
// relay addresses 198.18.0.2..n to br0 for parallel load processes.
func (l *lab) up(ctx context.Context, n int) error {
	if ex, err := labExists(l.prefix); err != nil {
		return err
	} else if ex {
		return fmt.Errorf("a lab with prefix %q exists (another bench running? remove it with: scripts/lab.sh down %s)", l.prefix, l.prefix)
	}
	l.created = true
	cmd := exec.CommandContext(ctx, filepath.Join(l.root, "scripts", "lab.sh"), "up", l.prefix)
	if out, err := cmd.CombinedOutput(); err != nil {
		if strings.Contains(string(out), "already exist") {
			l.created = false // someone else's, created since our check
		}
		return fmt.Errorf("lab.sh up: %v: %s", err, strings.TrimSpace(string(out)))
	}
	l.relays = []string{labCli}
	for i := 2; i <= n; i++ {
		a := fmt.Sprintf("198.18.0.%d", i)
		if out, err := exec.CommandContext(ctx, "ip", "-n", l.ns("cli"), "addr", "add", a+"/24", "dev", "br0").CombinedOutput(); err != nil {
			return fmt.Errorf("add relay address %s: %v: %s", a, err, out)
		}
		l.relays = append(l.relays, a)
	}
	return nil
}

// down removes the lab (killing what runs in it) if we created it.
func (l *lab) down() {
	if l == nil || !l.created {
		return
	}
	out, err := exec.Command(filepath.Join(l.root, "scripts", "lab.sh"), "down", l.prefix).CombinedOutput()
	if err != nil {
		fmt.Printf("bench: lab.sh down %s: %v: %s\n", l.prefix, err, out)
	}
	l.created = false
}
