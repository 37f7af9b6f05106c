package config

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestWriteKea22(t *testing.T) {
	in := "// c\n{ \"Dhcp4\": { \"valid-lifetime\": 60, # x\n \"t1-percent\": 0.25, \"server-hostname\": \"a\\\"b\", \"loggers\": [ { \"name\": \"kea-dhcp4\", \"output-options\": [ { \"output\": \"stdout\" } ], \"user-context\": { \"output-options\": 1 } } ], \"option-data\": [], }, }"
	c, _, err := Parse("t.json", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteKea22(&buf); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("output is not plain JSON: %v\n%s", err, buf.String())
	}
	d := got["Dhcp4"].(map[string]any)
	lg := d["loggers"].([]any)[0].(map[string]any)
	if _, ok := lg["output_options"]; !ok || lg["output-options"] != nil {
		t.Errorf("logger = %v, want output_options", lg)
	}
	if uc := lg["user-context"].(map[string]any); uc["output-options"] != float64(1) {
		t.Errorf("user-context was rewritten: %v", uc)
	}
	if d["valid-lifetime"] != float64(60) || d["t1-percent"] != 0.25 || d["server-hostname"] != `a"b` {
		t.Errorf("values changed: %v", d)
	}
}
