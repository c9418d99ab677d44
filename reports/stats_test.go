package reports

import (
	"slices"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/probes"
)

// ordered is a view of s in the order given.
func ordered(s []probes.Sample) view {
	idx := make([]int32, len(s))
	for i := range idx {
		idx[i] = int32(i)
	}
	return view{s: s, idx: idx}
}

// sessionSeries makes a session probe's samples every 100 ms: '1'..'9' an
// answer within session N, '0' a lost attempt while disconnected (Session 0,
// "session lost"), 'x' a lost attempt within the session before it.
func sessionSeries(pattern string) []probes.Sample {
	out := make([]probes.Sample, 0, len(pattern))
	cur := 0
	for i, c := range pattern {
		t := time.Duration(i) * 100 * ms
		s := probes.Sample{Probe: "ssh", Seq: uint64(i), Scheduled: t, Sent: t, RTT: ms}
		switch {
		case c >= '1' && c <= '9':
			cur = int(c - '0')
			s.Session = cur
		case c == '0':
			s.Lost, s.Err = true, "session lost: EOF"
		case c == 'x':
			s.Lost, s.Err, s.Session = true, "keepalive timeout", cur
		}
		out = append(out, s)
	}
	return out
}

func TestSessions(t *testing.T) {
	pm := ProbeMeta{Kind: "ssh", Interval: 100 * ms, Stall: 500 * ms}
	tests := []struct {
		name     string
		pattern  string
		count    int
		survived bool
		resets   []Reset
	}{
		{"survived", "1111", 1, true, nil},
		{"survived a stall", "11xx11", 1, true, nil},
		{"reset and reconnect", "1100022", 2, false,
			[]Reset{{At: 200 * ms, Reconnect: 300 * ms, Err: "session lost: EOF"}}},
		{"reset, never reconnected", "11000", 1, false,
			[]Reset{{At: 200 * ms, Reconnect: -1, Err: "session lost: EOF"}}},
		{"replaced without a recorded loss", "1122", 2, false,
			[]Reset{{At: 200 * ms, Reconnect: 0, Err: "session 1 replaced by session 2"}}},
		{"two resets", "1102033", 3, false, []Reset{
			{At: 200 * ms, Reconnect: 100 * ms, Err: "session lost: EOF"},
			{At: 400 * ms, Reconnect: 100 * ms, Err: "session lost: EOF"},
		}},
		{"new session lost before answering", "110x22", 2, false, []Reset{
			// Session 2's first attempt was lost: it reconnected only
			// when session 2 answered.
			{At: 200 * ms, Reconnect: 200 * ms, Err: "session lost: EOF"},
		}},
		{"not connected at the start", "0011", 1, false, nil},
		{"never connected", "000", 0, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sessionSeries(tt.pattern)
			if tt.name == "new session lost before answering" {
				s[3].Session = 2 // the 'x' belongs to the new session
			}
			count, survived, resets := sessions(&pm, ordered(s))
			if count != tt.count || survived != tt.survived || !slices.Equal(resets, tt.resets) {
				t.Errorf("sessions(%q) = %d, %v, %+v; want %d, %v, %+v",
					tt.pattern, count, survived, resets, tt.count, tt.survived, tt.resets)
			}
		})
	}
}

func TestSessionLostMarkedWithOldNumber(t *testing.T) {
	// A probe may stamp the first lost attempt with the session it lost.
	s := sessionSeries("111022")
	s[3].Session = 1
	pm := ProbeMeta{Kind: "ssh"}
	count, survived, resets := sessions(&pm, ordered(s))
	want := []Reset{{At: 300 * ms, Reconnect: 100 * ms, Err: "session lost: EOF"}}
	if count != 2 || survived || !slices.Equal(resets, want) {
		t.Errorf("got %d, %v, %+v; want 2, false, %+v", count, survived, resets, want)
	}
}

func TestMaxStall(t *testing.T) {
	pm := ProbeMeta{Kind: "ssh", Interval: 100 * ms}
	// A 300 ms stall of session 1, then a reset whose gap (500 ms) is not
	// a stall of a live session.
	s := sessionSeries("1xx11000022")
	gaps, stall := scanGaps(&pm, ordered(s), 0, true)
	if len(gaps) != 2 || stall != 300*ms {
		t.Errorf("gaps %+v, max stall %v; want 2 gaps, 300ms", gaps, stall)
	}
}

func TestRebooted(t *testing.T) {
	mk := func(values ...string) []probes.Sample {
		s := make([]probes.Sample, len(values))
		for i, v := range values {
			s[i] = probes.Sample{Seq: uint64(i), Value: v}
			if v == "lost" {
				s[i].Lost = true
			}
		}
		return s
	}
	tests := []struct {
		name   string
		values []string
		want   bool
	}{
		{"rising", []string{"100", "110", "120"}, false},
		{"backwards", []string{"100", "110", "3"}, true},
		{"backwards across a loss", []string{"100", "lost", "7"}, true},
		{"unit suffix", []string{"100 ticks", "5 ticks"}, true},
		{"counter wrap", []string{"4294967200", "50"}, false},
		{"unreadable values skipped", []string{"100", "", "n/a", "120"}, false},
		{"equal", []string{"100", "100"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rebooted(ordered(mk(tt.values...))); got != tt.want {
				t.Errorf("rebooted(%q) = %v, want %v", tt.values, got, tt.want)
			}
		})
	}
}

func TestLeadingUint(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "42": 42, "42 ticks": 42, "18446744073709551615": 1<<64 - 1} {
		if got, ok := leadingUint(in); !ok || got != want {
			t.Errorf("leadingUint(%q) = %d, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "x1", "18446744073709551616"} {
		if _, ok := leadingUint(in); ok {
			t.Errorf("leadingUint(%q) ok", in)
		}
	}
}

func TestRTTStats(t *testing.T) {
	var s []probes.Sample
	for i := 1; i <= 100; i++ {
		s = append(s, probes.Sample{Seq: uint64(i), RTT: time.Duration(101-i) * ms})
	}
	s = append(s, probes.Sample{Seq: 101, Lost: true, RTT: time.Hour})
	var buf []float64
	st, received := rttStats(ordered(s), &buf)
	want := RTTStats{Min: ms, Median: 50 * ms, P95: 95 * ms, Max: 100 * ms}
	if st != want || received != 100 {
		t.Errorf("rttStats = %+v, %d; want %+v, 100", st, received, want)
	}
	if st, received := rttStats(ordered(s[100:]), &buf); st != (RTTStats{}) || received != 0 {
		t.Errorf("all lost: %+v, %d", st, received)
	}
}
