package calibrate

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/scenarios/lab/netns"
	"github.com/downtime-lab/downtime/scenarios/lab/peers"
)

// childEnv makes this test binary the measuring child (Run starts it in
// the client namespace, as the CLI starts `downtime lab calibrate -child`).
const childEnv = "DT_CALIBRATE_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		if err := Child(context.Background(), os.Stdin, os.Stdout, os.Stderr); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A small matrix end to end, against the real services: every kind
// measures its outage within its stated bound, sessions survive, and
// nothing is left behind.
func TestRunSmallMatrix(t *testing.T) {
	netns.NeedRoot(t)
	if err := peers.Available(); err != nil {
		t.Skip(err)
	}
	t.Setenv(childEnv, "1")
	cells := []Cell{
		{"icmp", 10 * ms1, 200 * ms1},
		{"tcp", 10 * ms1, 200 * ms1},
		{"ssh", 100 * ms1, time.Second},
		{"snmp", 10 * ms1, 50 * ms1},
	}
	before, _ := os.ReadDir("/run/netns")
	var seen int
	rows, err := Run(context.Background(), Options{
		Cells: cells, ChildArgv: []string{os.Args[0]}, Log: logWriter{t},
		Row: func(Row) { seen++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(cells) || seen != len(cells) {
		t.Fatalf("%d rows (%d streamed) for %d cells", len(rows), seen, len(cells))
	}
	for i, r := range rows {
		if r.Cell != cells[i] {
			t.Errorf("row %d is %v, want %v", i, r.Cell, cells[i])
		}
		t.Logf("%v: %s", r.Cell, r.summary())
		if r.Failed != "" || !r.Within || !r.Seen {
			t.Errorf("%v: %+v", r.Cell, r)
		}
		if isSession(r.Kind) && !r.Survived {
			t.Errorf("%v: session lost", r.Cell)
		}
		if r.Truth < r.Outage {
			t.Errorf("%v: truth %v shorter than the outage asked for", r.Cell, r.Truth)
		}
	}
	after, _ := os.ReadDir("/run/netns")
	for _, e := range after {
		if !containsEntry(before, e.Name()) && len(e.Name()) > 6 && e.Name()[:6] == netns.Prefix() {
			t.Errorf("namespace %s left behind", e.Name())
		}
	}
}

func containsEntry(es []os.DirEntry, name string) bool {
	for _, e := range es {
		if e.Name() == name {
			return true
		}
	}
	return false
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func TestRunRefusesWithoutChild(t *testing.T) {
	if os.Geteuid() != 0 {
		if _, err := Run(context.Background(), Options{ChildArgv: []string{"x"}}); err == nil {
			t.Fatal("ran without root")
		}
		return
	}
	if _, err := Run(context.Background(), Options{}); err == nil {
		t.Fatal("ran without a child command")
	}
}
