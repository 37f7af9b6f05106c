package peertest

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// commandBodies are command bodies for the fuzzers of the peer listener:
// one of each peer command, with good and bad arguments, and bodies aimed
// at the one-pass decoder's shortcuts (case-folded and duplicate keys,
// non-ASCII, null, trailing data, not a map).
var commandBodies = []string{
	`{"command":"lease4-update","arguments":{"ip-address":"198.18.0.9","hw-address":"0a:0b:0c:0d:0e:0f","force-create":true,"subnet-id":1,"valid-lft":4000,"expire":1790000000,"state":0,"hostname":"h","fqdn-fwd":false,"fqdn-rev":false,"client-id":"01:02","user-context":{"a":[1,{}]}}}`,
	`{"command":"lease4-update","arguments":{"ip-address":"198.18.0.9","hw-address":"zz"}}`,
	`{"command":"lease4-del","arguments":{"ip-address":"198.18.0.9"}}`,
	`{"command":"lease4-get-page","arguments":{"from":"start","limit":3}}`,
	`{"command":"lease4-get-page","arguments":{"from":"198.18.0.1","limit":-1}}`,
	`{"command":"lease4-get-all","arguments":{"subnets":[1,2]}}`,
	`{"command":"dhcp-disable","arguments":{"max-period":5,"origin":"ha-partner"}}`,
	`{"command":"dhcp-enable","arguments":{"origin":"ha-partner"}}`,
	`{"command":"ha-maintenance-notify","arguments":{"cancel":false}}`,
	`{"command":"ha-maintenance-notify","arguments":{"cancel":"x"}}`,
	`{"command":"ha-heartbeat","service":["dhcp4"]}`,
	`{"command":"ha-sync-complete-notify","service":["dhcp4"]}`,
	`{"command":"ha-reset","arguments":null}`,
	`{"command":"ha-scopes","arguments":{"scopes":["server1"]}}`,
	`{"command":"config-set","bogus":1}`,
	`{"command":"","arguments":[]}`,
	`{"Command":"ha-heartbeat"}`,
	`{"command":"ha-heartbeat","command":"config-write"}`,
	`{"COMMAND":"config-set","command":"ha-heartbeat"}`,
	`{"command":null}`,
	`{"command":"ha-heartbeat","\u017fervice":["dhcp4"]}`,
	"{\"command\":\"ha-heartbeat\",\"\u017fervice\":[\"dhcp4\"]}",
	`{"command":"ha-reset","command":null}`,
	`{"command":"ha-heartbeat","Arguments":{},"arguments":{}}`,
	`{"command":"ha-heartbeat"} {}`,
	`[1,2]`, `"x"`, `null`, `{`, "\x00",
}

// CommandSeeds returns the request bodies of the Kea captures in wireDir
// (ha/testdata/ha-wire, see its README) followed by commandBodies.
func CommandSeeds(wireDir string) [][]byte {
	var out [][]byte
	files, _ := filepath.Glob(filepath.Join(wireDir, "*.json"))
	for _, fn := range files {
		raw, err := os.ReadFile(fn)
		if err != nil {
			continue
		}
		var wf struct {
			Examples []struct {
				Request struct {
					Body json.RawMessage `json:"body"`
				} `json:"request"`
			} `json:"examples"`
		}
		if json.Unmarshal(raw, &wf) != nil {
			continue
		}
		for _, ex := range wf.Examples {
			out = append(out, []byte(ex.Request.Body))
		}
	}
	for _, s := range commandBodies {
		out = append(out, []byte(s))
	}
	return out
}
