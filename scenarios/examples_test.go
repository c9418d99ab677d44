package scenarios_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/downtime-lab/downtime/scenarios"
)

// Every example scenario loads, as `downtime check` would, for a user who
// has the key and known_hosts files the examples name.
func TestExamplesLoad(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	for _, f := range []string{"id_ed25519", "known_hosts"} {
		if err := os.WriteFile(filepath.Join(home, ".ssh", f), []byte("# test\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob("examples/*.yaml")
	if len(files) < 7 {
		t.Fatalf("only %d examples", len(files))
	}
	for _, f := range files {
		sc, err := scenarios.Load(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if sc.Description == "" || len(sc.Probes) == 0 {
			t.Errorf("%s: no description or no probes", f)
		}
		b, _ := os.ReadFile(f)
		if !strings.HasPrefix(string(b), "#") && filepath.Base(f) != "outage.yaml" {
			t.Errorf("%s: starts with no comment saying what to edit and which credentials it reads", f)
		}
	}
}
