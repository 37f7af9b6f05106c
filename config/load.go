package config

import (
	"fmt"
	"os"
)

// Load reads, parses, validates and defaults the configuration at path.
func Load(path string) (*Config, []Warning, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse parses data as the contents of filename (includes are resolved
// relative to filename's directory). The top level must contain only Dhcp4.
func Parse(filename string, data []byte) (*Config, []Warning, error) {
	root, warns, err := ParseTree(filename, data)
	if err != nil {
		return nil, warns, err
	}
	d := &decoder{warns: warns}
	o := d.object(root, "", "toplevel", keys("Dhcp4"))
	if d.err != nil {
		return nil, d.warns, d.err
	}
	dn := o.typed("Dhcp4", KindMap)
	if d.err == nil && dn == nil {
		d.fail(root.Pos, "Dhcp4", "the configuration must contain a Dhcp4 map")
	}
	if d.err != nil {
		return nil, d.warns, d.err
	}
	dh := d.decodeDhcp4(dn)
	if d.err != nil {
		return nil, d.warns, d.err
	}
	return &Config{Source: filename, Dhcp4: dh, root: root}, d.warns, nil
}

// Tree returns the configuration as generic JSON values (includes resolved,
// comments dropped, as written: defaults are not filled in), for config-get.
func (c *Config) Tree() map[string]any {
	m, _ := c.root.Any().(map[string]any)
	return m
}

// Root returns the position-annotated tree the configuration was built from.
func (c *Config) Root() *Node { return c.root }
