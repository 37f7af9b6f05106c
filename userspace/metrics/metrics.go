// Package metrics exports xdhcp's statistics in the Prometheus text format.
//
// One naming scheme covers user space and the kernel: every family is
// xdhcp_<subsystem>_<what>, counters end in _total, and subnet ids,
// interfaces, message types, XDP verdicts and drop reasons are labels
// (subnet, interface, type, verdict, reason, stage), never parts of a
// name. Families lists them all; the collector describes exactly those to
// the registry. Kea-named statistics ("pkt4-received",
// "subnet[1].assigned-addresses") keep their names in statistic-get-all
// on the control socket; here they become, for example,
// xdhcp_dhcp4_received_packets_total and
// xdhcp_dhcp4_subnet_assigned_addresses{subnet="1"}.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Source returns named values at scrape time.
type Source func() map[string]int64

// StateSource returns a current state name (e.g. the HA state).
type StateSource func() string

type ifaceSource struct {
	name string
	fn   Source
}

// Collector is a prometheus.Collector over xdhcp's sources.
type Collector struct {
	descs map[string]*prometheus.Desc
	types map[string]prometheus.ValueType

	mu         sync.Mutex
	kea        Source
	ifaces     []ifaceSource
	haState    StateSource
	haPeer     StateSource
	listener   Source
	haCounters Source
	control    Source
	backups    BackupSource
}

// BackupSource returns, per HA backup server name, the lease updates it
// acknowledged and those that failed.
type BackupSource func() map[string][2]int64

// New returns a collector with the Kea-named statistics as its first source.
func New(keaStats Source) *Collector {
	c := &Collector{kea: keaStats, descs: map[string]*prometheus.Desc{}, types: map[string]prometheus.ValueType{}}
	for _, f := range families {
		c.descs[f.Name] = prometheus.NewDesc(f.Name, f.Help, f.Labels, nil)
		c.types[f.Name] = f.Type
	}
	return c
}

// AddInterface adds an interface's XDP path counters (xdppath's Counters:
// bpf_*, xsk_*, path_*), labelled interface=name.
func (c *Collector) AddInterface(name string, fn Source) {
	c.mu.Lock()
	c.ifaces = append(c.ifaces, ifaceSource{name, fn})
	c.mu.Unlock()
}

// AddHA adds the HA state of this server and of its partner, the HA
// listener's counters and the service's own (ha.Service.Counters: lease
// updates, backlog, heartbeats, sync); any may be nil.
func (c *Collector) AddHA(state, partner StateSource, listener, counters Source) {
	c.mu.Lock()
	c.haState, c.haPeer, c.listener, c.haCounters = state, partner, listener, counters
	c.mu.Unlock()
}

// AddHABackups adds the lease-update counters of the HA backup servers.
func (c *Collector) AddHABackups(fn BackupSource) {
	c.mu.Lock()
	c.backups = fn
	c.mu.Unlock()
}

// AddControl adds the control channel's counters: the dispatcher's
// (command_panics) and the control socket's, prefixed socket_.
func (c *Collector) AddControl(fn Source) {
	c.mu.Lock()
	c.control = fn
	c.mu.Unlock()
}

// Describe sends every family of Families.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range families {
		ch <- c.descs[f.Name]
	}
}

// Collect reads every source.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	kea, ifaces, haState, haPeer, listener, haCtr, control := c.kea, append([]ifaceSource(nil), c.ifaces...), c.haState, c.haPeer, c.listener, c.haCounters, c.control
	backups := c.backups
	c.mu.Unlock()

	// Several values may land on one series (a statistic reported twice,
	// or an unmapped one colliding): sum them rather than emit duplicates.
	vals := map[string]float64{}
	keys := map[string]series{}
	add := func(family string, labels []string, v int64) {
		k := family + "\xff" + fmt.Sprint(labels)
		keys[k] = series{family, labels}
		vals[k] += float64(v)
	}
	if kea != nil {
		for stat, v := range kea() {
			f, l := KeaSeries(stat)
			add(f, l, v)
		}
	}
	for _, s := range ifaces {
		for name, v := range s.fn() {
			if f, l, ok := InterfaceSeries(s.name, name); ok {
				add(f, l, v)
			} else {
				add(unmapped, []string{"xdp", s.name + ":" + name}, v)
			}
		}
	}
	for _, src := range []struct {
		name  string
		fn    Source
		table map[string]string
	}{{"ha_listener", listener, haListener}, {"ha", haCtr, haCounters}, {"control", control, controlCounters}} {
		if src.fn == nil {
			continue
		}
		for name, v := range src.fn() {
			if f, ok := src.table[name]; ok {
				add(f, nil, v)
			} else {
				add(unmapped, []string{src.name, name}, v)
			}
		}
	}
	if backups != nil {
		for name, v := range backups() {
			add("xdhcp_ha_backup_lease_updates_total", []string{name, "sent"}, v[0])
			add("xdhcp_ha_backup_lease_updates_total", []string{name, "failed"}, v[1])
		}
	}
	order := make([]string, 0, len(keys))
	for k := range keys {
		order = append(order, k)
	}
	sort.Strings(order)
	for _, k := range order {
		s := keys[k]
		m, err := prometheus.NewConstMetric(c.descs[s.family], c.types[s.family], vals[k], s.labels...)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.descs[s.family], err)
			continue
		}
		ch <- m
	}
	for _, st := range []struct {
		family string
		fn     StateSource
	}{{"xdhcp_ha_state", haState}, {"xdhcp_ha_partner_state", haPeer}} {
		if st.fn == nil {
			continue
		}
		if v := st.fn(); v != "" {
			ch <- prometheus.MustNewConstMetric(c.descs[st.family], gauge, 1, v)
		}
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
	// A value that cannot be exported is left out of the scrape, not
	// allowed to fail all of it.
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
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
