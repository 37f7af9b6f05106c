// Command dhcpload is a DHCPv4 load generator that acts as a relay agent,
// like perfdhcp -4: it simulates many clients (distinct MACs from a base),
// runs DISCOVER-OFFER-REQUEST-ACK (optionally renew and release) with
// giaddr set to its interface address, sends from port 67 to the server's
// port 67 (unicast, or 255.255.255.255), and validates every reply (xid,
// chaddr, pool, ACK = OFFER, no address held by two clients at once).
// -discover-only stops each exchange at the OFFER (no lease is taken);
// -ha-owner N/M keeps only clients whose Kea HA load-balancing hash
// (ha/lbhash) server N of M owns, e.g. to offer an HA pair queries that
// only one of its servers may answer. -malformed sends, instead of
// exchanges, a bounded stream of malformed frames at -rate (truncated
// BOOTP, options running past the end, a bad cookie, a BOOTREPLY, garbage;
// in turn) to measure a server's drop path. -renewals is a renewal load:
// each client takes a lease first (one DORA, the warm-up, after which
// "dhcpload: renewals begin" goes to stderr), then every exchange started
// is a renewal (REQUEST with ciaddr) of a bound client, counted in
// renew_ack.
//
// Frames go through an AF_XDP socket (-mode afxdp: an XDP program on the
// interface redirects replies into it) or an AF_PACKET socket (-mode
// packet). A run must be bounded by -n and/or -duration, and destinations
// are limited to 198.18.0.0/15, 192.0.2.0/24, 127.0.0.0/8 and
// 255.255.255.255.
//
// Exit status: 0 run completed, 3 some exchanges dropped, 4 validation
// violations, 1 error.
//
//	dhcpload -i veth0 -server 198.18.0.2 -clients 10000 -rate 50000 -duration 10s -pool 198.19.0.10-198.19.255.250
package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(realMain(os.Args[1:]))
}

func realMain(args []string) int {
	cfg, err := parseFlags(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dhcpload: %v\n", err)
		return exitError
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.Malformed {
		rep, err := runFlood(ctx, cfg)
		if err == nil {
			err = rep.write(os.Stdout, cfg.JSON)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "dhcpload: %v\n", err)
			return exitError
		}
		return exitOK
	}
	rep, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dhcpload: %v\n", err)
		return exitError
	}
	if cfg.JSON {
		err = rep.writeJSON(os.Stdout)
	} else {
		err = rep.writeText(os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "dhcpload: write report: %v\n", err)
		return exitError
	}
	return rep.ExitCode
}

// openTransport resolves the endpoint and opens the configured transport.
func openTransport(cfg *Config) (*endpoint, transport, error) {
	ep, err := resolve(cfg)
	if err != nil {
		return nil, nil, err
	}
	var tr transport
	if cfg.Mode == "afxdp" {
		tr, err = openXDP(ep.ifindex, cfg.QueueID, cfg.XDPMode == "generic", cfg.Batch)
	} else {
		tr, err = openPacket(ep.ifindex, u32(ep.giaddr))
	}
	if err != nil {
		return nil, nil, err
	}
	return ep, tr, nil
}

// runFlood is one bounded -malformed run.
func runFlood(ctx context.Context, cfg *Config) (*MalformedReport, error) {
	ep, tr, err := openTransport(cfg)
	if err != nil {
		return nil, err
	}
	defer tr.close()
	return runMalformed(ctx, cfg, ep, tr), nil
}

// run opens the transport on the configured interface and executes one
// bounded run.
func run(ctx context.Context, cfg *Config) (*Report, error) {
	ep, tr, err := openTransport(cfg)
	if err != nil {
		return nil, err
	}
	defer tr.close()
	var salt [4]byte
	_, _ = rand.Read(salt[:])
	o := genOptions{
		Clients: cfg.Clients, MACBase: [6]byte(cfg.MACBase), ClientID: cfg.ClientID,
		Renew: cfg.Renew, Release: cfg.Release, Renewals: cfg.Renewals, Giaddr: u32(ep.giaddr),
		PoolFirst: u32(cfg.PoolFirst), PoolLast: u32(cfg.PoolLast),
		TimeoutNs: int64(cfg.Timeout), Salt: binary.BigEndian.Uint32(salt[:]),
		DiscoverOnly: cfg.DiscoverOnly,
	}
	if cfg.HAServers > 0 {
		if o.MACs, err = haPopulation(o.MACBase, cfg.Clients, cfg.HAOwner, cfg.HAServers, cfg.ClientID); err != nil {
			return nil, err
		}
	}
	g := newGen(o)
	e := newEngine(cfg, ep, tr, g)
	if err := e.run(ctx); err != nil {
		return nil, err
	}
	return e.report(ep), nil
}
