package control

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// FuzzControlCommand feeds arbitrary bytes to the control socket's command
// decoding (readCommand, then ParseRequest) and to Dispatch, with a
// handler that decodes its arguments (DecodeArgs) and one that panics. No
// input may panic the caller; every failure is a Kea-style result 1 with a
// text; every answer encodes as JSON.
func FuzzControlCommand(f *testing.F) {
	for _, s := range []string{
		`{"command":"status-get"}`,
		`{"command":"args","arguments":{"ip-address":"192.0.2.1","subnet-id":1},"service":["dhcp4"]}`,
		`{"command":"args","arguments":[1,2]}`,
		`{"command":"args","arguments":null}`,
		`{"command":"args","arguments":"x"}`,
		`{"command":"boom"}`,
		`{"command":"x","remote-address":"127.0.0.1"}`,
		`{"command":"x","extra":1}`,
		`{"command":5}`,
		`{"command":"x","service":"dhcp4"}`,
		`{"arguments":{}}`,
		`{"command":"x"}{"command":"y"}`,
		`[1,2]`, `"x"`, `null`, `garbage`, `{"command":"ec`, ``, " \n\t", "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	d := NewDispatcher()
	d.SetLogger(d.log.Load().Level(100)) // quiet: panics are expected here
	d.Register("args", func(_ context.Context, r *Request) Response {
		var m map[string]any
		if e := DecodeArgs(r, &m); e != nil {
			return *e
		}
		return OK("decoded", m)
	})
	d.Register("boom", func(context.Context, *Request) Response { panic("fuzz") })
	check := func(t *testing.T, where string, r Response, data []byte) {
		t.Helper()
		switch r.Result {
		case ResultSuccess, ResultEmpty:
		case ResultError, ResultUnsupported:
			if r.Text == "" {
				t.Fatalf("%s: result %d without a text for %q", where, r.Result, data)
			}
		default:
			t.Fatalf("%s: result %d is not a Kea result code for %q", where, r.Result, data)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("%s: answer does not encode: %v", where, err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := &countingReader{r: bytes.NewReader(data)}
		raw, resp, _ := readCommand(cr, 1<<16)
		if (raw == nil) == (resp == nil) {
			t.Fatalf("readCommand: raw %q and response %+v for %q", raw, resp, data)
		}
		if resp != nil {
			check(t, "readCommand", *resp, data)
			if resp.Result != ResultError {
				t.Fatalf("readCommand failure with result %d", resp.Result)
			}
		} else {
			req, errResp := ParseRequest(raw)
			if (req == nil) == (errResp == nil) {
				t.Fatalf("ParseRequest: request %+v and response %+v for %q", req, errResp, raw)
			}
			if errResp != nil {
				check(t, "ParseRequest", *errResp, raw)
				if errResp.Result != ResultError {
					t.Fatalf("ParseRequest failure with result %d", errResp.Result)
				}
			} else {
				if a := bytes.TrimSpace(req.Arguments); req.Arguments != nil && (len(a) == 0 || a[0] != '{' && a[0] != '[' && string(a) != "null") {
					t.Fatalf("ParseRequest passed arguments %q", req.Arguments)
				}
				check(t, "Run", d.Run(context.Background(), req), raw)
			}
		}
		check(t, "Dispatch", d.Dispatch(context.Background(), data), data)
	})
}
