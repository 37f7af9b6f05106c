package hostdb

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/xdhcp/xdhcp/config"
	"github.com/xdhcp/xdhcp/internal/pgtest"
)

// BenchmarkGet4 is one query's host lookup (hw-address and client-id,
// one subnet plus global) against 10,000 reservations inserted with
// generate_series, alternating hits and misses: the round trip every
// DISCOVER and REQUEST pays with a hosts-database, as in Kea.
func BenchmarkGet4(b *testing.B) {
	c := pgtest.Start(b)
	c.Exec(b, `INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname)
		SELECT decode('0200' || lpad(to_hex(i), 8, '0'), 'hex'), 0, 1, 3323068416 + i, 'h' || i
		FROM generate_series(1, 10000) AS i`)
	ctx := context.Background()
	p, err := Open(ctx, dbConfig(c), nil, 1, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	hw := make([]byte, 6)
	hw[0] = 2
	b.ResetTimer()
	hits, want := 0, 0
	for i := 0; i < b.N; i++ {
		n := uint32(i%20000 + 1) // 1..10000 hit, the rest miss
		if n <= 10000 {
			want++
		}
		binary.BigEndian.PutUint32(hw[2:], n)
		rs, err := p.Get4(ctx, []uint32{1, 0}, map[string][]byte{config.IDHWAddress: hw, config.IDClientID: {1, 2, 3}})
		if err != nil {
			b.Fatal(err)
		}
		hits += len(rs)
	}
	b.StopTimer()
	if hits != want {
		b.Fatalf("%d hits in %d lookups, want %d", hits, b.N, want)
	}
}
