package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkDoc is a load-balancing configuration that New can open without
// privileges (no control socket, a memory lease database); ha and
// classes are spliced in.
func checkDoc(ha, classes string) string {
	return `{ "Dhcp4": {
  "lease-database": { "type": "memfile", "persist": false },
  "client-classes": [ ` + classes + ` ],
  "hooks-libraries": [ { "library": "libdhcp_lease_cmds.so" }, { "library": "libdhcp_ha.so", "parameters": { "high-availability": [ {
    "this-server-name": "server1", "mode": "load-balancing", ` + ha + ` } ] } } ],
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [
    { "pool": "192.0.2.10 - 192.0.2.19", "client-class": "HA_server1" },
    { "pool": "192.0.2.20 - 192.0.2.29", "client-class": "HA_server2" } ] } ] } }
`
}

const checkPeers = `"peers": [ { "name": "server1", "url": "http://127.0.0.1:18647/", "role": "primary" %s },
      { "name": "server2", "url": "http://127.0.0.1:18648/", "role": "secondary" } ]`

// TestCheckParity (issue 10 item 3): `xdhcpd -t` (Check) refuses exactly
// what `xdhcpd -c` (New) refuses, with the same message: before, -t ran
// only config.Load and said OK to configurations that ha.New, setupHA or
// the engine build refused at start.
func TestCheckParity(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, ha, classes, wantErr string
	}{
		{name: "good", ha: fmt.Sprintf(checkPeers, "")},
		{name: "good password file", ha: fmt.Sprintf(checkPeers, `, "basic-auth-user": "u", "basic-auth-password-file": "`+pwFile+`"`)},
		{name: "missing password file", ha: fmt.Sprintf(checkPeers, `, "basic-auth-user": "u", "basic-auth-password-file": "`+filepath.Join(dir, "nope")+`"`),
			wantErr: "basic-auth-password-file"},
		{name: "unreadable TLS files",
			ha:      `"trust-anchor": "` + filepath.Join(dir, "ca.pem") + `", "cert-file": "` + filepath.Join(dir, "c.pem") + `", "key-file": "` + filepath.Join(dir, "k.pem") + `", ` + fmt.Sprintf(checkPeers, ""),
			wantErr: "bad TLS config for server server1: trust-anchor"},
		{name: "class test that does not compile", ha: fmt.Sprintf(checkPeers, ""), classes: `{ "name": "x", "test": "member(" }`,
			wantErr: "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kea-dhcp4.conf")
			if err := os.WriteFile(path, []byte(checkDoc(tc.ha, tc.classes)), 0o644); err != nil {
				t.Fatal(err)
			}
			_, checkErr := Check(path)
			d, newErr := New(path, Options{})
			if newErr == nil {
				d.close()
			}
			if (checkErr == nil) != (newErr == nil) {
				t.Fatalf("-t says %v, -c says %v", checkErr, newErr)
			}
			if tc.wantErr == "" {
				if checkErr != nil {
					t.Fatalf("refused: %v", checkErr)
				}
				return
			}
			if checkErr == nil || !strings.Contains(checkErr.Error(), tc.wantErr) {
				t.Fatalf("-t error %v, want it to contain %q", checkErr, tc.wantErr)
			}
			if checkErr.Error() != newErr.Error() {
				t.Errorf("-t and -c differ:\n -t: %v\n -c: %v", checkErr, newErr)
			}
		})
	}
}

// TestCheckLintsPools: Check reports the unsplit-pool lint with the pool's
// file:line:column; the split pools above give none.
func TestCheckLintsPools(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kea-dhcp4.conf")
	doc := strings.Replace(checkDoc(fmt.Sprintf(checkPeers, ""), ""), `{ "pool": "192.0.2.20 - 192.0.2.29", "client-class": "HA_server2" }`,
		`{ "pool": "192.0.2.20 - 192.0.2.29" }`, 1)
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	warns, err := Check(path)
	if err != nil {
		t.Fatal(err)
	}
	var lint []string
	for _, w := range warns {
		if strings.Contains(w.Msg, "both load-balancing servers may allocate") {
			lint = append(lint, w.Pos.String()+": "+w.Msg)
		}
	}
	if len(lint) != 1 || !strings.HasPrefix(lint[0], path+":9:5: pool 192.0.2.20 - 192.0.2.29 of subnet 1") {
		t.Fatalf("lint warnings %q, want one at %s:9:5", lint, path)
	}
}
