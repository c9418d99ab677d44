// Command icmpbench pings a range of consecutive addresses for a while,
// either with one probes.ICMPGroup or with one probes.ICMP per address,
// and prints how many attempts it made and the CPU time it used. bench.sh
// runs it against fping; see there.
//
//	icmpbench -first 10.251.0.1 -n 200 -interval 100ms -duration 20s -mode group
package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/downtime-lab/downtime/probes"
)

func main() {
	first := flag.String("first", "10.251.0.1", "first address of the range")
	n := flag.Int("n", 200, "number of consecutive addresses")
	interval := flag.Duration("interval", 100*time.Millisecond, "probe interval per address")
	timeout := flag.Duration("timeout", time.Second, "probe timeout")
	duration := flag.Duration("duration", 20*time.Second, "how long to send")
	mode := flag.String("mode", "group", "group (one ICMPGroup) or single (one ICMP probe per address)")
	profile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "icmpbench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*first, *n, *interval, *timeout, *duration, *mode); err != nil {
		fmt.Fprintln(os.Stderr, "icmpbench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(first string, n int, interval, timeout, duration time.Duration, mode string) error {
	a, err := netip.ParseAddr(first)
	if err != nil {
		return err
	}
	clock := probes.NewClock()
	specs := make([]probes.Spec, n)
	for i := range specs {
		specs[i] = probes.Spec{Name: "bench", Target: a.String(), Address: a.String(),
			Interval: interval, Timeout: timeout, Clock: clock}
		a = a.Next()
	}
	var (
		mu                  sync.Mutex
		attempts, lost      int
		late                []time.Duration
		perAddr             = make(map[string]int, n)
		firstSent, lastSent = time.Duration(1 << 62), time.Duration(0)
	)
	emit := func(s probes.Sample) {
		mu.Lock()
		defer mu.Unlock()
		attempts++
		perAddr[s.Address]++
		if s.Lost {
			lost++
		}
		late = append(late, s.Sent-s.Scheduled)
		firstSent, lastSent = min(firstSent, s.Sent), max(lastSent, s.Sent)
	}
	var runs []probes.Probe
	switch mode {
	case "group":
		g, err := probes.NewICMPGroup(specs, probes.ICMPConfig{})
		if err != nil {
			return err
		}
		runs = append(runs, g)
	case "single":
		for _, s := range specs {
			p, err := probes.NewICMP(s, probes.ICMPConfig{})
			if err != nil {
				return err
			}
			runs = append(runs, p)
		}
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(runs))
	for _, p := range runs {
		wg.Go(func() {
			if err := p.Run(ctx, emit); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return err
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	lo, hi := attempts, 0
	for _, c := range perAddr {
		lo, hi = min(lo, c), max(hi, c)
	}
	slices.Sort(late)
	pct := func(p int) time.Duration {
		if len(late) == 0 {
			return 0
		}
		return late[(len(late)-1)*p/100].Round(time.Microsecond)
	}
	fmt.Printf("mode=%s targets=%d attempts=%d (per address %d..%d, sent over %v) lost=%d lateness p50/p99/max %v/%v/%v cpu_ms=%d\n",
		mode, n, attempts, lo, hi, (lastSent - firstSent).Round(time.Millisecond), lost, pct(50), pct(99), pct(100), cpu.Milliseconds())
	return nil
}
