package ha

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/ha/peer"
	"github.com/xdhcp/xdhcp/userspace/control"
	"github.com/xdhcp/xdhcp/userspace/lease"
)

const wireDir = "testdata/ha-wire"

type wireFile struct {
	Command  string `json:"command"`
	Examples []struct {
		Phase   string `json:"phase"`
		Request struct {
			Headers [][2]string     `json:"headers"`
			Body    json.RawMessage `json:"body"`
		} `json:"request"`
		Response struct {
			Start string          `json:"start"`
			Body  json.RawMessage `json:"body"`
		} `json:"response"`
	} `json:"examples"`
}

// wireSubnets is the subnet of the captures: id 1 = 198.18.0.0/15.
type wireSubnets struct{}

func (wireSubnets) Subnet(id uint32) (netip.Prefix, uint32, bool) {
	if id == 1 {
		return netip.MustParsePrefix("198.18.0.0/15"), 4000, true
	}
	return netip.Prefix{}, 0, false
}

func (wireSubnets) SubnetFor(a netip.Addr) (uint32, bool) {
	return 1, netip.MustParsePrefix("198.18.0.0/15").Contains(a)
}

// startListener starts env's Service on a loopback listener.
func startListener(t *testing.T, env *testEnv) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.s.Serve(t.Context(), ln); err != nil {
		t.Fatal(err)
	}
	return "http://" + ln.Addr().String() + "/"
}

// shape compares JSON structure: same map keys, same value kinds; lists
// compare their first elements.
func shape(path string, kea, ours any) error {
	switch k := kea.(type) {
	case map[string]any:
		o, ok := ours.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: kea map, ours %T", path, ours)
		}
		var kk, ok2 []string
		for key := range k {
			kk = append(kk, key)
		}
		for key := range o {
			ok2 = append(ok2, key)
		}
		sort.Strings(kk)
		sort.Strings(ok2)
		if strings.Join(kk, ",") != strings.Join(ok2, ",") {
			return fmt.Errorf("%s: keys kea %v, ours %v", path, kk, ok2)
		}
		for key := range k {
			if err := shape(path+"."+key, k[key], o[key]); err != nil {
				return err
			}
		}
	case []any:
		o, ok := ours.([]any)
		if !ok {
			return fmt.Errorf("%s: kea list, ours %T", path, ours)
		}
		if len(k) > 0 && len(o) > 0 {
			return shape(path+"[0]", k[0], o[0])
		}
	default:
		if fmt.Sprintf("%T", kea) != fmt.Sprintf("%T", ours) {
			return fmt.Errorf("%s: kea %T, ours %T", path, kea, ours)
		}
	}
	return nil
}

// TestListenerMatchesCapturedKea sends every captured request to our
// listener and compares the reply with Kea's captured reply.
func TestListenerMatchesCapturedKea(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(wireDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Skipf("no ha-wire captures in %s", wireDir)
	}
	// The listener serves the daemon's dispatcher: lease commands over a
	// real lease store, server commands, HA commands. The captures were
	// taken from Kea with restrict-commands false (its default), which
	// answers the probe of an unknown command with result 2, not 403.
	env := newDaemonEnv(t, "http://127.0.0.1:1/", wireSubnets{}, func(c *Config) { c.RestrictCommands = false })
	url := startListener(t, env.testEnv)
	env.s.mu.Lock()
	env.s.transitionLocked(StateLoadBalancing)
	env.s.mu.Unlock()
	hc := &http.Client{Timeout: 5 * time.Second}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var wf wireFile
		if err := json.Unmarshal(raw, &wf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i, ex := range wf.Examples {
			name := fmt.Sprintf("%s/%d", filepath.Base(f), i)
			t.Run(name, func(t *testing.T) {
				prepare(t, env, ex.Request.Body, ex.Response.Body)
				body := ex.Request.Body
				var s string
				if json.Unmarshal(body, &s) == nil {
					body = []byte(s) // captured non-JSON probe
				}
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				for _, h := range ex.Request.Headers {
					if h[0] != "Content-Length" && h[0] != "Host" {
						req.Header.Set(h[0], h[1])
					}
				}
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.ContentLength != int64(len(got)) || resp.TransferEncoding != nil {
					t.Fatalf("reply not Content-Length delimited: %d/%d %v", resp.ContentLength, len(got), resp.TransferEncoding)
				}
				if resp.Header.Get("Content-Type") != "application/json" {
					t.Fatalf("content-type %q", resp.Header.Get("Content-Type"))
				}
				if resp.Header.Get("Server") != peer.ServerSoftware {
					// An xdhcpd partner pipelines its lease updates on it.
					t.Fatalf("Server header %q, want %q", resp.Header.Get("Server"), peer.ServerSoftware)
				}
				if want := ex.Response.Start; !strings.HasSuffix(want, resp.Status) {
					t.Fatalf("status %q, kea %q", resp.Status, want)
				}
				var kea, ours any
				_ = json.Unmarshal(ex.Response.Body, &kea)
				if err := json.Unmarshal(got, &ours); err != nil {
					t.Fatalf("reply %q is not json: %v", got, err)
				}
				if wf.Command == "list-commands" {
					// Every command the dispatcher has, each one Kea lists too.
					keaNames := map[string]bool{}
					for _, n := range kea.([]any)[0].(map[string]any)["arguments"].([]any) {
						keaNames[n.(string)] = true
					}
					names := ours.([]any)[0].(map[string]any)["arguments"].([]any)
					if len(names) != len(env.disp.Commands()) {
						t.Fatalf("list-commands %v, dispatcher %v", names, env.disp.Commands())
					}
					for _, n := range names {
						if !keaNames[n.(string)] {
							t.Errorf("list-commands: %s is not a Kea 2.2 command", n)
						}
					}
					return
				}
				if err := shape("reply", kea, ours); err != nil {
					t.Fatalf("%v\nkea:  %s\nours: %s", err, ex.Response.Body, got)
				}
				km, isList := kea.([]any)
				if !isList {
					return
				}
				k0, o0 := km[0].(map[string]any), ours.([]any)[0].(map[string]any)
				if k0["result"] != o0["result"] {
					t.Fatalf("result %v, kea %v (%s)", o0["result"], k0["result"], got)
				}
				if wf.Command != "ha-heartbeat" && wf.Command != "status-get" && !pageTrimmed(k0) && k0["text"] != o0["text"] {
					t.Fatalf("text %q, kea %q", o0["text"], k0["text"])
				}
			})
		}
	}
}

// pageTrimmed reports a lease4-get-page capture whose list was shortened.
func pageTrimmed(ans map[string]any) bool {
	args, _ := ans["arguments"].(map[string]any)
	if args == nil {
		return false
	}
	ls, _ := args["leases"].([]any)
	c, _ := args["count"].(float64)
	return args["count"] != nil && int(c) != len(ls)
}

// prepare sets the store and state so that our answer can equal Kea's.
func prepare(t *testing.T, env *daemonEnv, reqBody, respBody json.RawMessage) {
	t.Helper()
	var req struct {
		Command   string          `json:"command"`
		Arguments json.RawMessage `json:"arguments"`
	}
	_ = json.Unmarshal(reqBody, &req)
	var resp []struct {
		Text      string          `json:"text"`
		Arguments json.RawMessage `json:"arguments"`
	}
	_ = json.Unmarshal(respBody, &resp)
	text := ""
	if len(resp) > 0 {
		text = resp[0].Text
	}
	var lj lease.JSON
	_ = json.Unmarshal(req.Arguments, &lj)
	addr, _ := netip.ParseAddr(lj.IPAddress)
	switch {
	case text == "IPv4 lease deleted." || text == "IPv4 lease updated.":
		if _, err := env.leases.Put(&lease.Lease{Addr: addr, HWAddr: []byte{0x0a, 0, 0, 0, 0, 1}, SubnetID: 1, ValidLifetime: 4000, CLTT: 1}); err != nil {
			t.Fatal(err)
		}
	case text == "IPv4 lease added." || strings.HasPrefix(text, "failed to update") || text == "IPv4 lease not found.":
		_, _ = env.leases.Delete(addr)
	case req.Command == "lease4-get-page":
		for _, l := range env.leases.All() {
			_, _ = env.leases.Delete(l.Addr)
		}
		var page struct {
			Leases []lease.JSON `json:"leases"`
		}
		_ = json.Unmarshal(resp[0].Arguments, &page)
		for i := range page.Leases {
			l, err := lease.FromJSON(&page.Leases[i], 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := env.leases.Put(l); err != nil {
				t.Fatal(err)
			}
		}
	case req.Command == "ha-reset":
		env.s.mu.Lock()
		env.s.transitionLocked(StateLoadBalancing)
		env.s.mu.Unlock()
	}
}

// TestListenerHTTPErrors covers the HTTP-level answers (bare maps) and the
// envelope checks.
func TestListenerHTTPErrors(t *testing.T) {
	env := newTestService(t, "http://127.0.0.1:1/", func(c *Config) {
		c.Peers[1].BasicAuthUser, c.Peers[1].BasicAuthPassword = "kea-ha", "secret"
	}) // restrict-commands: true by default
	url := startListener(t, env)
	tests := []struct {
		name, method, ctype, body string
		auth                      bool
		wantStatus                int
		wantBody                  string
	}{
		{"get", http.MethodGet, "", "", true, 400, `{"result":400,"text":"Bad Request"}`},
		{"no content type", http.MethodPost, "", `{"command":"ha-heartbeat"}`, true, 400, `{"result":400,"text":"Bad Request"}`},
		{"not json", http.MethodPost, "application/json", `this is not json`, true, 400, `{"result":400,"text":"Bad Request"}`},
		{"no auth", http.MethodPost, "application/json", `{"command":"ha-heartbeat"}`, false, 401, `{"result":401,"text":"Unauthorized"}`},
		{"unknown key", http.MethodPost, "application/json", `{"command":"ha-heartbeat","bogus":1}`, true, 200,
			`[{"result":1,"text":"Error during command processing: Received command contains unsupported parameter 'bogus'"}]`},
		{"key case matters", http.MethodPost, "application/json", `{"Command":"ha-heartbeat"}`, true, 200,
			`[{"result":1,"text":"Error during command processing: Received command contains unsupported parameter 'Command'"}]`},
		{"trailing data", http.MethodPost, "application/json", `{"command":"ha-reset"} {}`, true, 400, `{"result":400,"text":"Bad Request"}`},
		{"command not a string", http.MethodPost, "application/json", `{"command":7}`, true, 200,
			`[{"result":1,"text":"Error during command processing: 'command' element in command message must be a string"}]`},
		{"restricted", http.MethodPost, "application/json", `{"command":"ha-scopes","arguments":{"scopes":[]}}`, true, 403, `{"result":403,"text":"Forbidden"}`},
		{"unsupported", http.MethodPost, "application/json", `{"command":"lease4-wipe"}`, true, 403, `{"result":403,"text":"Forbidden"}`},
		// Kea's filter runs on the parsed body before the envelope checks.
		{"restricted before envelope", http.MethodPost, "application/json", `{"command":"config-set","bogus":1}`, true, 403, `{"result":403,"text":"Forbidden"}`},
		{"restricted, args not a map", http.MethodPost, "application/json", `{"command":"shutdown","arguments":7}`, true, 403, `{"result":403,"text":"Forbidden"}`},
		// ...and lets an empty command through (CmdResponseCreator::filterCommand).
		{"empty command passes the filter", http.MethodPost, "application/json", `{"command":""}`, true, 200, `[{"result":2,"text":"'' command not supported."}]`},
		{"body over the cap", http.MethodPost, "application/json", `{"command":"ha-heartbeat","arguments":{"x":"` + strings.Repeat("a", maxPeerBody) + `"}}`, true, 413,
			`{"result":413,"text":"Request Entity Too Large"}`},
		{"ok with charset", http.MethodPost, "application/json; charset=utf-8", `{"command":"ha-reset","service":["dhcp4"]}`, true, 200,
			`[{"result":0,"text":"HA state machine already in WAITING state."}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, url, strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			if tt.auth {
				req.SetBasicAuth("kea-ha", "secret")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || string(b) != tt.wantBody {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, b, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

// TestListenerServesSharedDispatcher: the peer listener and the control
// socket run the same handlers on the same state, and restrict-commands
// limits the listener to the peer commands.
func TestListenerServesSharedDispatcher(t *testing.T) {
	post := func(t *testing.T, url, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	t.Run("open", func(t *testing.T) {
		// "restrict-commands": false opts out of xdhcpd's default.
		env := newDaemonEnv(t, "http://127.0.0.1:1/", wireSubnets{}, func(c *Config) { c.RestrictCommands = false })
		url := startListener(t, env.testEnv)
		// An operator command over the listener lands in the shared store...
		code, body := post(t, url, `{"command":"lease4-add","arguments":{"ip-address":"198.18.0.9","hw-address":"0a:0b:0c:0d:0e:0f"}}`)
		if code != 200 || body != `[{"result":0,"text":"Lease for address 198.18.0.9, subnet-id 1 added."}]` {
			t.Fatalf("lease4-add: %d %s", code, body)
		}
		if _, ok := env.leases.Get(netip.MustParseAddr("198.18.0.9")); !ok {
			t.Fatal("lease4-add over the listener did not reach the store")
		}
		// ...and the partner's dhcp-disable switches the daemon's service.
		if code, body = post(t, url, `{"command":"dhcp-disable","arguments":{"origin":"ha-partner"}}`); code != 200 || env.sw.Enabled() {
			t.Fatalf("dhcp-disable: %d %s, enabled %v", code, body, env.sw.Enabled())
		}
		// status-get is servercmds' answer: core keys and the HA section, no text.
		_, body = post(t, url, `{"command":"status-get"}`)
		var st []struct {
			Arguments map[string]json.RawMessage `json:"arguments"`
			Result    int                        `json:"result"`
			Text      *string                    `json:"text"`
		}
		if err := json.Unmarshal([]byte(body), &st); err != nil || len(st) != 1 || st[0].Result != 0 || st[0].Text != nil ||
			st[0].Arguments["pid"] == nil || st[0].Arguments["high-availability"] == nil {
			t.Fatalf("status-get: %s", body)
		}
		// A command registered later is served too: one command set.
		env.disp.Register("x-probe", func(context.Context, *control.Request) control.Response { return control.OK("probed", nil) })
		if _, body = post(t, url, `{"command":"x-probe"}`); body != `[{"result":0,"text":"probed"}]` {
			t.Fatalf("x-probe: %s", body)
		}
	})
	t.Run("restricted by default", func(t *testing.T) {
		env := newDaemonEnv(t, "http://127.0.0.1:1/", wireSubnets{}, nil)
		url := startListener(t, env.testEnv)
		// What an attacker on the peer port would want, each registered on
		// the shared dispatcher and each refused as Kea refuses it.
		for _, c := range []string{
			`{"command":"config-set","arguments":{"Dhcp4":{}}}`,
			`{"command":"config-write","arguments":{"filename":"/etc/shadow"}}`,
			`{"command":"shutdown"}`,
			`{"command":"lease4-wipe","arguments":{"subnet-id":1}}`,
			`{"command":"lease4-add","arguments":{"ip-address":"198.18.0.9","hw-address":"0a:0b:0c:0d:0e:0f"}}`,
			`{"command":"ha-scopes","arguments":{"scopes":[]}}`,
			`{"command":"ha-sync","arguments":{"server-name":"server1"}}`,
			`{"command":"statistic-reset-all"}`,
		} {
			if code, body := post(t, url, c); code != 403 || body != `{"result":403,"text":"Forbidden"}` {
				t.Errorf("%s: %d %s, want 403 Forbidden", c, code, body)
			}
		}
		if _, ok := env.leases.Get(netip.MustParseAddr("198.18.0.9")); ok {
			t.Fatal("a forbidden lease4-add reached the store")
		}
		if got := env.s.ListenerCounters()["forbidden"]; got != 8 {
			t.Errorf("forbidden counter %d, want 8", got)
		}
		if code, body := post(t, url, `{"command":"lease4-add","arguments":{"ip-address":"198.18.0.9","hw-address":"0a:0b:0c:0d:0e:0f"}}`); code != 403 {
			t.Fatalf("lease4-add with restrict-commands: %d %s", code, body)
		}
		if code, body := post(t, url, `{"command":"lease4-update","arguments":{"ip-address":"198.18.0.9","hw-address":"0a:0b:0c:0d:0e:0f","force-create":true}}`); code != 200 ||
			body != `[{"result":0,"text":"IPv4 lease added."}]` {
			t.Fatalf("lease4-update with restrict-commands: %d %s", code, body)
		}
	})
}
