package daemon

import "testing"

func TestDropRises(t *testing.T) {
	for name, want := range map[string]bool{
		"xdp:bpf_drop_rate_client": true, "xdp:bpf_drop_short": true, "xdp:bpf_drop_partner": false,
		"xdp:bpf_pass_vlan": true, "xdp:bpf_pass_not_dhcp_port": false, "xdp:bpf_redirect_ours": false,
		"pkt4-udp-drop-rate-unknown": true, "pkt4-parse-failed-truncated": true, "pkt4-ack-sent": false,
	} {
		if dropCounter(name) != want {
			t.Errorf("dropCounter(%q) = %v", name, !want)
		}
	}
	s, total := dropRises(map[string]int64{"a": 5, "b": 1}, map[string]int64{"a": 7, "b": 1, "c": 40})
	if s != "c +40, a +2" || total != 42 {
		t.Errorf("rises %q total %d", s, total)
	}
	if s, total := dropRises(map[string]int64{"a": 5}, map[string]int64{"a": 5}); s != "" || total != 0 {
		t.Errorf("no rise: %q %d", s, total)
	}
}
