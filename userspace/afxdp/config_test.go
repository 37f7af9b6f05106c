package afxdp

import (
	"strings"
	"testing"
)

func TestConfigDefaults(t *testing.T) {
	c, err := Config{IfIndex: 3, QueueID: 1}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{IfIndex: 3, QueueID: 1, NumFrames: 4096, FrameSize: 2048,
		FillRingSize: 2048, CompRingSize: 2048, RxRingSize: 2048, TxRingSize: 2048}
	if c != want {
		t.Fatalf("defaults = %+v, want %+v", c, want)
	}
}

func TestConfigInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no ifindex", Config{}, "ifindex 0"},
		{"negative queue", Config{IfIndex: 1, QueueID: -1}, "queue -1"},
		{"odd frames", Config{IfIndex: 1, NumFrames: 7, FillRingSize: 8, TxRingSize: 8, CompRingSize: 8}, "num frames 7"},
		{"frame size not power of two", Config{IfIndex: 1, FrameSize: 3000}, "frame size 3000"},
		{"frame size too small", Config{IfIndex: 1, FrameSize: 1024}, "frame size 1024"},
		{"ring not power of two", Config{IfIndex: 1, RxRingSize: 1000}, "rx ring size 1000"},
		{"fill ring too small", Config{IfIndex: 1, FillRingSize: 1024}, "fill ring size 1024"},
		{"tx ring too small", Config{IfIndex: 1, TxRingSize: 512}, "tx ring size 512"},
		{"completion ring too small", Config{IfIndex: 1, CompRingSize: 256}, "completion ring size 256"},
		{"more frames than rings", Config{IfIndex: 1, NumFrames: 8192}, "fill ring size 2048"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cfg.withDefaults()
			if err == nil {
				t.Fatalf("%+v: no error", tc.cfg)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	// Small but consistent: accepted.
	if _, err := (Config{IfIndex: 1, NumFrames: 64, FillRingSize: 32, CompRingSize: 32, RxRingSize: 32, TxRingSize: 32}).withDefaults(); err != nil {
		t.Fatalf("small config: %v", err)
	}
}

func TestOpenInvalidConfig(t *testing.T) {
	if _, err := Open(Config{}); err == nil || !strings.Contains(err.Error(), "afxdp config") {
		t.Fatalf("Open(Config{}) = %v, want a config error", err)
	}
}
