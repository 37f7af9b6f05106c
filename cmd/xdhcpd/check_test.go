package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckHAParity (issue 10 items 3 and 4): -t runs the start-up HA
// checks (a basic-auth-password-file that cannot be read fails -t as it
// fails -c) and prints the unsplit-pool lint as file:line:column; the seed
// has no such warning.
func TestCheckHAParity(t *testing.T) {
	dir := t.TempDir()
	doc := func(peer1Extra, pool2Class string) string {
		return `{ "Dhcp4": {
  "lease-database": { "type": "memfile", "persist": false },
  "hooks-libraries": [ { "library": "libdhcp_lease_cmds.so" }, { "library": "libdhcp_ha.so", "parameters": { "high-availability": [ {
    "this-server-name": "server1", "mode": "load-balancing",
    "peers": [ { "name": "server1", "url": "http://127.0.0.1:18647/", "role": "primary"` + peer1Extra + ` },
      { "name": "server2", "url": "http://127.0.0.1:18648/", "role": "secondary" } ] } ] } } ],
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [
    { "pool": "192.0.2.10 - 192.0.2.19", "client-class": "HA_server1" },
    { "pool": "192.0.2.20 - 192.0.2.29"` + pool2Class + ` } ] } ] } }
`
	}
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var out, errb strings.Builder
	unsplit := write("unsplit.json", doc("", ""))
	if code := run([]string{"-t", unsplit}, &out, &errb); code != 0 {
		t.Fatalf("unsplit pool refused (exit %d): %s", code, errb.String())
	}
	if want := unsplit + ":9:5: warning: pool 192.0.2.20 - 192.0.2.29 of subnet 1"; !strings.Contains(errb.String(), want) {
		t.Fatalf("stderr %q, want %q", errb.String(), want)
	}
	errb.Reset()
	badpw := write("badpw.json", doc(`, "basic-auth-user": "u", "basic-auth-password-file": "`+filepath.Join(dir, "nope")+`"`, `, "client-class": "HA_server2"`))
	if code := run([]string{"-t", badpw}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "basic-auth-password-file") {
		t.Fatalf("unreadable password file: exit %d, stderr %q; -c refuses it, so must -t", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"-t", "../../config/testdata/ha-load-balancing-server2-mt.json"}, &out, &errb); code != 0 || strings.Contains(errb.String(), "warning: pool") {
		t.Fatalf("seed: exit %d, stderr %q", code, errb.String())
	}
}
