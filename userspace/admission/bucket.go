package admission

// Token is one message in Bucket.Tokens' fixed point (XDHCP_TOKEN): the
// refill after e nanoseconds at r messages per second is e*r units.
const Token uint64 = 1_000_000_000

// Bucket is a token bucket, the twin of struct xdhcp_tokens. The zero
// value is a bucket never used, which is full on its first Take. It is not
// safe for concurrent use on its own (the Limiter locks it).
type Bucket struct {
	Tokens uint64 // fixed point, Token units per message
	LastNs uint64 // time of the last refill; 0 = never used
}

// Take refills the bucket to now (nanoseconds, any monotonic origin but
// never 0) at rate messages per second up to burst messages, then takes
// one message. It reports whether there was one. rate must not be 0. The
// integer arithmetic is the kernel's, step for step, so both give the same
// answers on the same clock.
func (b *Bucket) Take(rate, burst uint32, now uint64) bool {
	limit := uint64(burst) * Token
	tokens := b.Tokens
	switch {
	case b.LastNs == 0:
		tokens = limit
		b.LastNs = now
	case now > b.LastNs:
		e := now - b.LastNs
		room := limit - min(tokens, limit)
		if e > room/uint64(rate) {
			tokens = limit
		} else {
			tokens += e * uint64(rate)
		}
		b.LastNs = now
	}
	tokens = min(tokens, limit)
	if tokens < Token {
		b.Tokens = tokens
		return false
	}
	b.Tokens = tokens - Token
	return true
}
