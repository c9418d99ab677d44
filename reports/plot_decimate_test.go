package reports

import (
	"testing"
	"time"
)

func TestDecimate(t *testing.T) {
	var pts []Point
	for i := range 100_000 {
		p := Point{Sent: time.Duration(i) * time.Millisecond, RTT: time.Millisecond}
		switch {
		case i%9973 == 0:
			p.RTT = time.Duration(i) * time.Microsecond // spikes must survive
		case i >= 50_000 && i < 50_010:
			p.Lost = true
		}
		pts = append(pts, p)
	}
	got := Decimate(pts, 1000)
	if len(got) < 500 || len(got) > 1000+10 { // 500 buckets, 1 or 2 answers each
		t.Fatalf("kept %d points, want 1000 answered at most plus 10 lost", len(got))
	}
	lost, spikes, base := 0, 0, 0
	for i, p := range got {
		if i > 0 && p.Sent < got[i-1].Sent {
			t.Fatalf("point %d out of order", i)
		}
		if p.Lost {
			lost++
		}
		if p.RTT > time.Millisecond {
			spikes++
		}
		if p.RTT == time.Millisecond {
			base++
		}
	}
	if lost != 10 {
		t.Errorf("kept %d lost points, want all 10", lost)
	}
	if want := 100_000/9973 - 1; spikes < want { // i=0 has RTT 0
		t.Errorf("kept %d spikes, want %d", spikes, want)
	}
	if base < 400 {
		t.Errorf("kept %d baseline answers: the fastest per bucket must stay", base)
	}
}

func TestDecimateSmallInput(t *testing.T) {
	pts := []Point{{Sent: 1}, {Sent: 2, Lost: true}}
	if got := Decimate(pts, 10); len(got) != 2 {
		t.Errorf("short input changed: %v", got)
	}
	if got := Decimate(pts, 0); len(got) != 2 {
		t.Errorf("maxPoints 0 changed the input: %v", got)
	}
	if got := Decimate(nil, 10); got != nil {
		t.Errorf("nil input gave %v", got)
	}
	same := []Point{{Sent: 5, RTT: 1}, {Sent: 5, RTT: 3}, {Sent: 5, RTT: 2}}
	if got := Decimate(same, 1); len(got) != 1 || got[0].RTT != 3 {
		t.Errorf("points at one instant: got %v, want the slowest", got)
	}
}

// bigRun is four probes of 250,000 attempts each (a 2500 s run at 10 ms),
// with their raw points.
func bigRun() (*Run, [][]Point) {
	s, ms := time.Second, time.Millisecond
	run := fixtureRun()
	run.Probes = nil
	run.Events[0].Start, run.Events[0].End = 995*s, 1003*s
	run.Events[1].Start, run.Events[1].End = 1999*s, 2001*s
	var raw [][]Point
	for i := range 4 {
		r := fixtureProbe("p"+itoa(i), "icmp", "10.99.0."+itoa(i+2), 10*ms, 2500*s, 500*time.Microsecond, rng(i),
			[2]time.Duration{1000 * s, 1001 * s}, [2]time.Duration{2000*s + time.Duration(i)*100*ms, 2000*s + 300*ms})
		raw = append(raw, r.Points)
		run.Probes = append(run.Probes, r)
	}
	return run, raw
}

func TestWriteTimelineLarge(t *testing.T) {
	run, raw := bigRun()
	for i := range run.Probes {
		run.Probes[i].Points = Decimate(raw[i], lanePoints)
	}
	b, img := render(t, run)
	saveExample(t, "large-example.png", b)
	if img.Bounds().Dx() != plotWidth {
		t.Errorf("width %d", img.Bounds().Dx())
	}
}

// BenchmarkWriteTimeline: 1M attempts in four probes, decimated as Analyze
// does, then drawn.
func BenchmarkWriteTimeline(b *testing.B) {
	run, raw := bigRun()
	b.Run("Decimate", func(b *testing.B) {
		for b.Loop() {
			for _, pts := range raw {
				Decimate(pts, lanePoints)
			}
		}
	})
	for i := range run.Probes {
		run.Probes[i].Points = Decimate(raw[i], lanePoints)
	}
	b.Run("Draw", func(b *testing.B) {
		for b.Loop() {
			if err := WriteTimeline(discard{}, run); err != nil {
				b.Fatal(err)
			}
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
