package dashboard

import (
	"slices"
	"testing"
)

func TestMetrics(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`sum by (instance) (rate(xdhcp_dhcp4_sent_messages_total{type="ack", instance=~"$instance"}[$__rate_interval]))`, []string{"xdhcp_dhcp4_sent_messages_total"}},
		{`max by (instance, subnet) (a_assigned) / max by (instance, subnet) (b_total{x="{y}"} > 0)`, []string{"a_assigned", "b_total"}},
		{`x == 1 and on (instance) group_left (state) y offset 5m`, []string{"x", "y"}},
		{`{__name__="named_metric", job="j"} + histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m:1m])))`, []string{"named_metric", "h_bucket"}},
		{`label_replace(up, "a", "$1", "b", "(.*)") * 1e3 + inf`, []string{"up"}},
		{`sum without (cpu) (c) unless d`, []string{"c", "d"}},
	}
	for _, tt := range tests {
		if got := Metrics(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("Metrics(%s) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

func TestExpand(t *testing.T) {
	got := Expand(`rate(x{instance=~"$instance", i=~"${interface}"}[$__rate_interval])`)
	if want := `rate(x{instance=~".*", i=~".*"}[5m])`; got != want {
		t.Errorf("Expand: %s, want %s", got, want)
	}
}
