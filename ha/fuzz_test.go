package ha

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/xdhcp/xdhcp/ha/peer/peertest"
)

// FuzzPeerCommand feeds arbitrary bodies to the HA listener's handler as
// the peer server parses them (peer.Handler: the one-pass decoder, else
// the envelope checks, then the restrict-commands filter and the shared
// dispatcher with the real lease, server and HA commands). It must not
// panic and must answer Kea-style (a bare HTTP-level map or a one-element
// list with a Kea result code). peer.FuzzDecodeCommand checks the two
// decoders against each other.
func FuzzPeerCommand(f *testing.F) {
	for _, body := range peertest.CommandSeeds(wireDir) {
		f.Add(body)
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
	})
}
