package labtest_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes"
	"github.com/downtime-lab/downtime/reports"
	"github.com/downtime-lab/downtime/scenarios"
	"github.com/downtime-lab/downtime/scenarios/lab"
	"github.com/downtime-lab/downtime/scenarios/lab/netns"
	"github.com/downtime-lab/downtime/scenarios/triggers"
)

// needLab skips unless this machine can run the lab (CI installs the
// packages with scenarios/lab/install-deps.sh).
func needLab(t *testing.T) {
	t.Helper()
	netns.NeedRoot(t)
	if err := lab.Missing(); err != nil {
		t.Skip(err)
	}
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// inLab brings up a lab with a unique prefix and re-runs the calling test
// inside its client namespace. It returns the lab's prefix in that child,
// and ok false in the parent, which takes the lab down when the test ends,
// whatever happened in the child.
func inLab(t *testing.T, bond bool) (prefix string, ok bool) {
	t.Helper()
	if netns.InChild() {
		return netns.ChildEnv("PREFIX"), true
	}
	needLab(t)
	cfg := lab.Config{Prefix: netns.UniqueName("lab"), Bond: bond, Log: logWriter{t}}
	t.Cleanup(func() {
		if err := lab.Down(cfg); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	begin := time.Now()
	st, err := lab.Up(ctx, cfg)
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	t.Logf("lab %s up in %v (accelerator %s)", cfg.Prefix, time.Since(begin).Round(time.Millisecond), st.Accel)
	// The lab made the namespace; the NS value only names it for the
	// re-exec (lab.Down deletes it).
	netns.RunTestIn(t, &netns.NS{Name: st.ClientNS}, map[string]string{"PREFIX": cfg.Prefix})
	return "", false
}

// ran is a finished scenario run and its samples, by probe name and
// address.
type ran struct {
	res     scenarios.Result
	samples map[string][]probes.Sample
}

// runScenario loads the lab scenario file (in scenarios/lab), rewritten for
// the lab named prefix, and runs it with the real runner.
func runScenario(t *testing.T, file, prefix string) ran {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", file))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Parse(file, lab.RewriteForPrefix(data, prefix, ""))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	res := scenarios.Run(context.Background(), sc, scenarios.Options{Dir: dir, Log: logWriter{t}, Lab: "QEMU lab"})
	if res.Err != nil {
		t.Fatalf("run: %v", res.Err)
	}
	if res.Run == nil || res.Run.Partial {
		t.Fatalf("partial run: %+v", res.Run)
	}
	f, err := os.Open(filepath.Join(dir, reports.SamplesFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, err := reports.ReadAllSamples(f)
	if err != nil {
		t.Fatal(err)
	}
	out := ran{res: res, samples: map[string][]probes.Sample{}}
	for _, s := range all {
		k := s.Probe + " " + s.Address
		out.samples[k] = append(out.samples[k], s)
	}
	return out
}

// probe returns the result of probe name (at its first address).
func (r ran) probe(t *testing.T, name string) reports.ProbeResult {
	t.Helper()
	for _, p := range r.res.Run.Probes {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no probe %s in the run", name)
	return reports.ProbeResult{}
}

// gapAfter is the longest gap of p that overlaps event i, or begins
// after it and before the next event (the bond notices a link change only
// at its next miimon poll, after the QMP command returned); 0 if none, with
// the attempts lost in it.
func gapAfter(p reports.ProbeResult, evs []triggers.Event, i int) (time.Duration, int) {
	from, to := evs[i].Start, time.Duration(math.MaxInt64)
	if i+1 < len(evs) {
		to = evs[i+1].Start
	}
	var d time.Duration
	lost := 0
	for _, g := range p.Gaps {
		if g.Start < to && g.End > from && g.Duration() > d {
			d, lost = g.Duration(), g.Lost
		}
	}
	return d, lost
}

// answeredAfter reports whether probe p at its address had an attempt sent
// after at answered.
func (r ran) answeredAfter(p reports.ProbeResult, at time.Duration) bool {
	return r.answeredBetween(p, at, math.MaxInt64)
}

// answeredBetween reports whether probe p at its address had an attempt
// sent after from and no later than to answered.
func (r ran) answeredBetween(p reports.ProbeResult, from, to time.Duration) bool {
	for _, s := range r.samples[p.Name+" "+p.Address] {
		if s.Sent > from && s.Sent <= to && !s.Lost {
			return true
		}
	}
	return false
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
