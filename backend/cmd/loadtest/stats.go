package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// stats summarizes one timed run.
type stats struct {
	ops, errors   int
	elapsed       time.Duration
	p50, p99, max time.Duration
}

func (s stats) rate() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.ops) / s.elapsed.Seconds()
}

// summarize sorts lat (the latencies of the successful operations) in place.
func summarize(lat []time.Duration, elapsed time.Duration, errs int) stats {
	s := stats{ops: len(lat), errors: errs, elapsed: elapsed}
	if len(lat) == 0 {
		return s
	}
	slices.Sort(lat)
	s.p50 = lat[(len(lat)-1)/2]
	s.p99 = lat[max(0, (len(lat)*99+99)/100-1)]
	s.max = lat[len(lat)-1]
	return s
}

// ms formats a duration in milliseconds, with precision where it is small.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v < 1:
		return fmt.Sprintf("%.3f", v)
	case v < 100:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// loadAvg is the 1-, 5- and 15-minute load average, as uptime shows it.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// cpuModel is the processor's name from /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}
