// Command hapair prints one server's configuration of the project's HA
// pair (internal/keatest/templates/ha-pair.json) for shell scripts:
//
//	go run ./internal/keatest/hapair -name server1 -s1 198.18.0.11 -s2 198.18.0.12 \
//	    -work /tmp/w -relay 198.18.0.1 -router 198.19.0.1 > /tmp/w/server1.json
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/xdhcp/xdhcp/internal/keatest"
)

func main() {
	var (
		name   = flag.String("name", "server1", "this-server-name: server1 or server2")
		mode   = flag.String("mode", "load-balancing", "HA mode: load-balancing, hot-standby (server2 standby) or passive-backup (server2 backup)")
		unack  = flag.Int("max-unacked-clients", 0, "max-unacked-clients")
		s1     = flag.String("s1", "", "server1's address (peer URL http://ADDR:PORT/)")
		s2     = flag.String("s2", "", "server2's address")
		port   = flag.Int("port", 8000, "peer URL port")
		work   = flag.String("work", "", "directory of the control socket NAME.sock, lease file NAME-leases4.csv and log NAME.log")
		relay  = flag.String("relay", "", "relay address of subnet 1 (giaddr); empty = none")
		router = flag.String("router", "", "routers option; empty = none")
		valid  = flag.Int("valid", 3600, "valid-lifetime in seconds")
		hb     = flag.Int("heartbeat-delay", 1000, "heartbeat-delay in ms")
		mrd    = flag.Int("max-response-delay", 4000, "max-response-delay in ms")
		mad    = flag.Int("max-ack-delay", 2000, "max-ack-delay in ms")
	)
	flag.Parse()
	if *s1 == "" || *s2 == "" || *work == "" {
		fmt.Fprintln(os.Stderr, "hapair: -s1, -s2 and -work are required")
		os.Exit(2)
	}
	p := keatest.HAPair{
		Name:              *name,
		Mode:              *mode,
		MaxUnackedClients: *unack,
		URLs:              [2]string{fmt.Sprintf("http://%s:%d/", *s1, *port), fmt.Sprintf("http://%s:%d/", *s2, *port)},
		Socket:            filepath.Join(*work, *name+".sock"),
		Leases:            filepath.Join(*work, *name+"-leases4.csv"),
		ValidLifetime:     *valid,
		HeartbeatDelay:    *hb,
		MaxResponseDelay:  *mrd,
		MaxAckDelay:       *mad,
		Router:            *router,
		Loggers:           []keatest.Logger{{Name: "kea-dhcp4", Severity: "WARN", Output: filepath.Join(*work, *name+".log")}},
	}
	if *relay != "" {
		p.Relays = []string{*relay}
	}
	b, err := p.Render()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hapair:", err)
		os.Exit(1)
	}
	os.Stdout.Write(b)
}
