// Package metrics exports xdhcp's statistics in the Prometheus text format.
//
// Kea statistic names become metric names under the "kea_dhcp4" namespace
// ("pkt4-received" → kea_dhcp4_pkt4_received); per-subnet statistics
// ("subnet[1].assigned-addresses") become one metric with a subnet label
// (kea_dhcp4_subnet_assigned_addresses{subnet="1"}). Further sources (the
// XDP counters, the HA state) are added with AddSource and AddState.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Source returns named values at scrape time.
type Source func() map[string]int64

// StateSource returns a current state name (e.g. the HA state).
type StateSource func() string

type source struct {
	namespace string // metric name prefix
	help      string
	fn        Source
}

type stateSource struct {
	name, help string
	fn         StateSource
}

// Collector is a prometheus.Collector over xdhcp's sources.
type Collector struct {
	mu      sync.Mutex
	sources []source
	states  []stateSource
}

// New returns a collector with the Kea statistics as its first source.
func New(keaStats Source) *Collector {
	c := &Collector{}
	c.AddSource("kea_dhcp4", "Kea statistic %s.", keaStats)
	return c
}

// AddSource adds values exported as <prefix>_<sanitised name>. help is a
// format with one %s for the original name.
func (c *Collector) AddSource(prefix, help string, fn Source) {
	c.mu.Lock()
	c.sources = append(c.sources, source{prefix, help, fn})
	c.mu.Unlock()
}

// AddState exports fn's current state as a gauge <name>{state="..."} = 1.
func (c *Collector) AddState(name, help string, fn StateSource) {
	c.mu.Lock()
	c.states = append(c.states, stateSource{name, help, fn})
	c.mu.Unlock()
}

// Describe sends no descriptors: the metric set depends on the
// configuration (subnets), so the collector is "unchecked".
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

var (
	subnetStat = regexp.MustCompile(`^subnet\[(\d+)\]\.(.+)$`)
	badChars   = regexp.MustCompile(`[^a-zA-Z0-9_]`)
)

// MetricName converts a statistic name to a Prometheus metric name and
// labels.
func MetricName(prefix, stat string) (string, prometheus.Labels) {
	if m := subnetStat.FindStringSubmatch(stat); m != nil {
		return prefix + "_subnet_" + badChars.ReplaceAllString(m[2], "_"), prometheus.Labels{"subnet": m[1]}
	}
	return prefix + "_" + badChars.ReplaceAllString(stat, "_"), nil
}

// Collect reads every source.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	sources := append([]source(nil), c.sources...)
	states := append([]stateSource(nil), c.states...)
	c.mu.Unlock()
	for _, s := range sources {
		vals := s.fn()
		names := make([]string, 0, len(vals))
		for n := range vals {
			names = append(names, n)
		}
		sort.Strings(names)
		descs := map[string]*prometheus.Desc{}
		for _, stat := range names {
			name, labels := MetricName(s.namespace, stat)
			key := name + fmt.Sprint(len(labels))
			d, ok := descs[key]
			if !ok {
				var labelNames []string
				for k := range labels {
					labelNames = append(labelNames, k)
				}
				help := fmt.Sprintf(s.help, stat)
				if labels != nil {
					help = fmt.Sprintf(s.help, "subnet[*]."+strings.TrimPrefix(name, s.namespace+"_subnet_"))
				}
				d = prometheus.NewDesc(name, help, labelNames, nil)
				descs[key] = d
			}
			var lv []string
			if v, ok := labels["subnet"]; ok {
				lv = []string{v}
			}
			m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, float64(vals[stat]), lv...)
			if err != nil {
				ch <- prometheus.NewInvalidMetric(d, err)
				continue
			}
			ch <- m
		}
	}
	for _, s := range states {
		d := prometheus.NewDesc(s.name, s.help, []string{"state"}, nil)
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, 1, s.fn())
	}
}

// Server serves /metrics.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Listen starts an HTTP listener on addr serving /metrics from c and, when
// pprof is set, Go's runtime profiles under /debug/pprof/.
func Listen(addr string, c *Collector, pprof bool) (*Server, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		return nil, fmt.Errorf("register collector: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if pprof {
		mux.HandleFunc("/debug/pprof/", httppprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", httppprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for prometheus on %s: %w", addr, err)
	}
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the listening address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the listener.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stop prometheus listener: %w", err)
	}
	return nil
}
