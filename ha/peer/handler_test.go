package peer

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/xdhcp/xdhcp/ha/peer/peertest"
)

// FuzzDecodeCommand: the one-pass decodeCommand must accept only what the
// envelope checks (parseEnvelope) accept, and decode it the same way.
// Seeds: those of FuzzPeerCommand (ha), which checked this before the
// decoders moved here.
func FuzzDecodeCommand(f *testing.F) {
	for _, body := range peertest.CommandSeeds(filepath.Join("..", "testdata", "ha-wire")) {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := decodeCommand(body)
		if !ok {
			return
		}
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
	})
}
