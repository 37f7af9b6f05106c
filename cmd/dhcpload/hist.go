package main

import (
	"math"
	"math/bits"
	"time"
)

// hist is a log-linear latency histogram in microseconds: exact below
// 128 µs, then 64 sub-buckets per power of two (under 1.6% error). Min,
// max and the mean are exact. Recording does not allocate.
type hist struct {
	counts       []uint64
	n            uint64
	sumNs        uint64
	minNs, maxNs int64
}

const (
	histLinear = 128
	histSub    = 64
	histShifts = 40
)

func newHist() *hist {
	return &hist{counts: make([]uint64, histLinear+histShifts*histSub), minNs: math.MaxInt64}
}

func histIndex(us uint64) int {
	if us < histLinear {
		return int(us)
	}
	shift := bits.Len64(us) - 7 // us>>shift is in [64, 128)
	i := histLinear + (shift-1)*histSub + int(us>>shift) - histSub
	return min(i, histLinear+histShifts*histSub-1)
}

// histValue is the middle of bucket i, in microseconds.
func histValue(i int) float64 {
	if i < histLinear {
		return float64(i)
	}
	shift := (i-histLinear)/histSub + 1
	top := uint64((i-histLinear)%histSub + histSub)
	return float64(top<<shift) + float64(uint64(1)<<shift)/2
}

// record adds one delay.
func (h *hist) record(d int64) {
	if d < 0 {
		d = 0
	}
	h.counts[histIndex(uint64(d)/1000)]++
	h.n++
	h.sumNs += uint64(d)
	h.minNs = min(h.minNs, d)
	h.maxNs = max(h.maxNs, d)
}

// quantile returns the q-quantile (0..1) in microseconds.
func (h *hist) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			v := histValue(i)
			return math.Min(math.Max(v, float64(h.minNs)/1e3), float64(h.maxNs)/1e3)
		}
	}
	return float64(h.maxNs) / 1e3
}

// Delays is a delay summary in milliseconds, as perfdhcp prints them.
type Delays struct {
	MinMs float64 `json:"min_ms"`
	AvgMs float64 `json:"avg_ms"`
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

func (h *hist) summary() Delays {
	if h.n == 0 {
		return Delays{}
	}
	ms := func(ns float64) float64 { return ns / float64(time.Millisecond) }
	return Delays{
		MinMs: ms(float64(h.minNs)),
		AvgMs: ms(float64(h.sumNs) / float64(h.n)),
		P50Ms: h.quantile(0.5) / 1e3,
		P99Ms: h.quantile(0.99) / 1e3,
		MaxMs: ms(float64(h.maxNs)),
	}
}
