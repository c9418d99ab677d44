package scenarios_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/downtime-lab/downtime/scenarios"
)

// FuzzParse feeds Parse arbitrary bytes: it must never panic, and every
// problem it reports must carry the file:line: prefix.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	files = append(files, "examples/outage.yaml")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The file name anchors relative paths at testdata/valid, so
		// fuzzed target files and keys resolve to small, real files.
		s, err := scenarios.Parse("testdata/valid/fuzz.yaml", data)
		if err == nil {
			if s == nil || s.Name == "" || len(s.Probes) == 0 {
				t.Fatalf("accepted an incomplete scenario: %+v", s)
			}
			return
		}
		var es scenarios.Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("error is %T, want scenarios.Errors: %v", err, err)
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if !strings.HasPrefix(line, "testdata/valid/fuzz.yaml:") || !errLineRe.MatchString(line) {
				t.Fatalf("problem without file:line: prefix: %q", line)
			}
		}
	})
}
