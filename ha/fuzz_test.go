package ha

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzPeerCommand feeds arbitrary bodies to the HA listener's handler as
// the peer server parses them (the one-pass decodeCommand, else the
// envelope checks, then the restrict-commands filter and the shared
// dispatcher with the real lease, server and HA commands). It must not
// panic, must answer Kea-style (a bare HTTP-level map or a one-element
// list with a Kea result code), and the fast decoder must agree with the
// envelope checks on every body it accepts.
func FuzzPeerCommand(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(wireDir, "*.json"))
	for _, fn := range files {
		raw, err := os.ReadFile(fn)
		if err != nil {
			continue
		}
		var wf wireFile
		if json.Unmarshal(raw, &wf) != nil {
			continue
		}
		for _, ex := range wf.Examples {
			f.Add([]byte(ex.Request.Body))
		}
	}
	for _, s := range []string{
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
	} {
		f.Add([]byte(s))
	}
	env := newDaemonEnv(f, "http://127.0.0.1:1/", wireSubnets{}, nil) // restrict-commands: true (default)
	env.s.log = env.s.log.Level(100)                                  // quiet
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		env.s.ServeHTTP(w, req)
		out := w.Body.Bytes()
		switch w.Code {
		case http.StatusOK:
			var list []struct {
				Result *int    `json:"result"`
				Text   *string `json:"text"`
			}
			if err := json.Unmarshal(out, &list); err != nil || len(list) != 1 || list[0].Result == nil {
				t.Fatalf("200 answer is not a one-element Kea list: %q (%v)", out, err)
			}
			switch r := *list[0].Result; r {
			case 0, 1, 2, 3, ResultMaintenanceNotAllowed:
			default:
				t.Fatalf("result %d is not a Kea result code: %s", r, out)
			}
			if *list[0].Result != 0 && *list[0].Result != 3 && (list[0].Text == nil || *list[0].Text == "") {
				t.Fatalf("error without a text: %s", out)
			}
		case http.StatusBadRequest, http.StatusForbidden, http.StatusRequestEntityTooLarge:
			var m struct {
				Result int    `json:"result"`
				Text   string `json:"text"`
			}
			if err := json.Unmarshal(out, &m); err != nil || m.Result != w.Code || m.Text != http.StatusText(w.Code) {
				t.Fatalf("%d answer is not Kea's bare map: %q (%v)", w.Code, out, err)
			}
		default:
			t.Fatalf("unexpected status %d: %q", w.Code, out)
		}
		// The fast path must accept only what the envelope checks accept,
		// and decode it the same way.
		if fast, ok := decodeCommand(body); ok {
			var env map[string]json.RawMessage
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatalf("decodeCommand accepted %q, json.Unmarshal: %v", body, err)
			}
			slow, rep := parseEnvelope(env)
			if rep != nil {
				t.Fatalf("decodeCommand accepted %q, the envelope check refused it: %s", body, rep.Text)
			}
			if fast.Command != slow.Command || !reflect.DeepEqual(fast.Service, slow.Service) ||
				fast.HasArguments() != slow.HasArguments() || (fast.HasArguments() && !bytes.Equal(fast.Arguments, slow.Arguments)) {
				t.Fatalf("decoders disagree on %q: fast %+v, envelope %+v", body, fast, slow)
			}
		}
	})
}
