// Package deps pins module requirements until the packages that use them land; delete it then.
package deps
import (
_ "github.com/cilium/ebpf"
_ "github.com/cilium/ebpf/link"
_ "github.com/vishvananda/netlink"
_ "github.com/vishvananda/netns"
_ "github.com/insomniacslk/dhcp/dhcpv4"
_ "github.com/rs/zerolog"
_ "golang.org/x/sys/unix"
_ "golang.org/x/net/ipv4"
_ "github.com/prometheus/client_golang/prometheus"
_ "gopkg.in/natefinch/lumberjack.v2"
)

