// Package alloc keeps the free-address bookkeeping of one pool range.
//
// A Range is an index over the addresses first..last (IPv4, inclusive). The
// lease store is the truth; the engine keeps each Range in sync with it
// through lease.Options.OnChange. Finding the next free address never scans
// the pool: the free bits form a 64-ary tree of uint64 words (a leaf bit per
// address, and each bit of an upper level says "this child word has a free
// bit"), so a search costs O(levels) = O(log64 n) word operations however
// full the pool is. A /8 (16.7M addresses) needs 4 levels and about 2 MiB.
// A full Range answers Next and Pick in O(1) from its free count.
//
// Deadlines orders held addresses by the time they become reusable (the
// engine feeds it lease expiries), so "is any address of this pool due?"
// is answered from the heap's top without a scan.
package alloc
