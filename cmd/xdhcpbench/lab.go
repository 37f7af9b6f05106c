package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
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

// otherLabs lists the prefixes of the scripts/lab.sh labs (namespaces
// <prefix>cli, <prefix>s1 and <prefix>s2) that exist now: another bench,
// make demo, a developer's lab. Any of them would share the CPUs and skew
// the figures.
func otherLabs() ([]string, error) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return nil, fmt.Errorf("ip netns list: %w", err)
	}
	return labPrefixes(string(out)), nil
}

// labPrefixes finds, in `ip netns list` output, every prefix p for which
// pcli, ps1 and ps2 all exist.
func labPrefixes(list string) []string {
	have := map[string]bool{}
	for _, line := range strings.Split(list, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			have[f[0]] = true
		}
	}
	var out []string
	for name := range have {
		if p, ok := strings.CutSuffix(name, "cli"); ok && p != "" && have[p+"s1"] && have[p+"s2"] {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// nsExists reports whether any of prefix's namespaces exist.
func nsExists(prefix string) (bool, error) {
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
	if ps, err := otherLabs(); err != nil {
		return err
	} else if len(ps) > 0 {
		return fmt.Errorf("refusing to start: lab namespaces %s* exist (another bench or demo running? they would share the CPUs; remove a stale one with: scripts/lab.sh down %s)", ps[0], ps[0])
	}
	if ex, err := nsExists(l.prefix); err != nil {
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
