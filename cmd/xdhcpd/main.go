// Command xdhcpd is the xdhcp DHCPv4 server. It takes Kea's command line:
//
//	xdhcpd -c FILE   run with a Kea Dhcp4 configuration
//	xdhcpd -t FILE   check a configuration and exit 0 (good) or 1 (bad)
//	xdhcpd -v / -V   print the version / extended version
//	xdhcpd -d        debug logging to stdout, whatever the loggers say
//	xdhcpd -p PORT   server port (default 67); -P PORT client port (default 68)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/userspace/daemon"
	"github.com/xdhcp/xdhcp/userspace/servercmds"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without os.Exit, for tests.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("xdhcpd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("c", "", "run with this Kea Dhcp4 `configuration` file")
	checkFile := fs.String("t", "", "check this configuration `file` and exit")
	debug := fs.Bool("d", false, "debug logging to stdout")
	version := fs.Bool("v", false, "print the version and exit")
	extended := fs.Bool("V", false, "print the extended version and exit")
	serverPort := fs.Int("p", 67, "server UDP `port`")
	clientPort := fs.Int("P", 68, "client UDP `port`")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	switch {
	case *version:
		fmt.Fprintln(stdout, servercmds.Version)
		return 0
	case *extended:
		fmt.Fprintln(stdout, servercmds.Extended)
		return 0
	case *checkFile != "":
		return check(*checkFile, stdout, stderr)
	case *cfgFile == "":
		fmt.Fprintln(stderr, "xdhcpd: a configuration file is required: -c FILE (or -t FILE to check one)")
		fs.Usage()
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	d, err := daemon.New(*cfgFile, daemon.Options{ServerPort: *serverPort, ClientPort: *clientPort, Debug: *debug})
	if err != nil {
		fmt.Fprintf(stderr, "xdhcpd: %v\n", err)
		return 1
	}
	code, err := d.Run(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "xdhcpd: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// check is `xdhcpd -t`: every check `-c` runs on the configuration
// (daemon.Check), warnings and errors reported, exit 0 or 1.
func check(path string, stdout, stderr io.Writer) int {
	warnings, err := daemon.Check(path)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "%s:%d:%d: warning: %s\n", w.Pos.File, w.Pos.Line, w.Pos.Col, w.Msg)
	}
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			fmt.Fprintf(stderr, "%v\n", ce)
		} else {
			fmt.Fprintf(stderr, "%s: %v\n", path, err)
		}
		return 1
	}
	fmt.Fprintf(stdout, "%s: configuration OK\n", path)
	return 0
}
