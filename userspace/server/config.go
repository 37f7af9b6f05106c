package server

import (
	"fmt"
	"runtime"

	"github.com/xdhcp/xdhcp/userspace/admission"
	"github.com/xdhcp/xdhcp/userspace/packet"
)

// Defaults and limits.
const (
	// UnlimitedQueueSize is the queue bound used for packet-queue-size 0
	// (Kea: unlimited). It keeps memory bounded under a flood.
	UnlimitedQueueSize = 1 << 16
	// DefaultReceiveBuffer is the SO_RCVBUF asked for when Config leaves it 0.
	DefaultReceiveBuffer = 4 << 20
	// DefaultBatchSize is the number of datagrams read per recvmmsg.
	DefaultBatchSize = 32
	// readBufferSize bounds one received datagram; longer ones are dropped
	// as truncated. Kea reads at most 1500 bytes.
	readBufferSize = 4096
)

// Config is the server's part of Dhcp4.interfaces-config and
// Dhcp4.multi-threading, plus test and tuning knobs. cmd/xdhcpd maps the
// parsed configuration onto it.
type Config struct {
	// Interfaces is interfaces-config.interfaces: "eth0", "eth0/192.0.2.1"
	// (that address is the interface address used for replies) or "*" (all
	// interfaces except loopback). Loopback serves only when named. Empty:
	// no UDP listener (AF_XDP only, or nothing).
	Interfaces []string
	// MultiThreading is enable-multi-threading; false means one worker.
	MultiThreading bool
	// ThreadPoolSize is thread-pool-size; 0 means runtime.NumCPU().
	ThreadPoolSize int
	// PacketQueueSize is packet-queue-size; 0 means UnlimitedQueueSize.
	// It bounds the queue whether or not multi-threading is enabled.
	PacketQueueSize int

	// Port is the server (and relay) port, 0 = 67. Tests use a high port.
	Port uint16
	// ClientPort is the client port replies go to, 0 = 68.
	ClientPort uint16
	// ReceiveBuffer is the socket receive buffer in bytes (SO_RCVBUFFORCE,
	// falling back to SO_RCVBUF); 0 = DefaultReceiveBuffer.
	ReceiveBuffer int
	// BatchSize is the number of datagrams per read; 0 = DefaultBatchSize.
	BatchSize int
	// Limiter applies the admission rate limits (user-context.xdhcp
	// rate-limits) to every datagram read, as the XDP program does in the
	// kernel; nil = no limits.
	Limiter *admission.Limiter
}

// withDefaults returns c with zero values replaced by defaults.
func (c Config) withDefaults() Config {
	if c.Port == 0 {
		c.Port = packet.ServerPort
	}
	if c.ClientPort == 0 {
		c.ClientPort = packet.ClientPort
	}
	if c.ReceiveBuffer == 0 {
		c.ReceiveBuffer = DefaultReceiveBuffer
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.PacketQueueSize == 0 {
		c.PacketQueueSize = UnlimitedQueueSize
	}
	return c
}

// workers is the pool size the configuration asks for.
func (c Config) workers() int {
	switch {
	case !c.MultiThreading:
		return 1
	case c.ThreadPoolSize == 0:
		return runtime.NumCPU()
	}
	return c.ThreadPoolSize
}

// validate rejects negative sizes.
func (c Config) validate() error {
	if c.ThreadPoolSize < 0 {
		return fmt.Errorf("thread-pool-size %d: must not be negative", c.ThreadPoolSize)
	}
	if c.PacketQueueSize < 0 {
		return fmt.Errorf("packet-queue-size %d: must not be negative", c.PacketQueueSize)
	}
	if c.ReceiveBuffer < 0 || c.BatchSize < 0 {
		return fmt.Errorf("receive buffer %d, batch size %d: must not be negative", c.ReceiveBuffer, c.BatchSize)
	}
	return nil
}
