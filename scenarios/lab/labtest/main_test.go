package labtest_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/downtime-lab/downtime/scenarios/lab"
)

// TestMain lets this test binary stand in for `downtime lab standby`.
//
// The live-migration scenario's standby step runs
// [downtime, lab, standby, --prefix, P], and the runner replaces
// "downtime" with its own executable: in a test, this binary. Acting as
// that one subcommand here (it is a thin wrapper of lab.Standby) keeps the
// scenario file unchanged and needs no `go build` of cmd/downtime during
// the test.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "lab" && os.Args[2] == "standby" {
		os.Exit(standby(os.Args[3:]))
	}
	os.Exit(m.Run())
}

// standby is `downtime lab standby [--prefix P]`.
func standby(args []string) int {
	fs := flag.NewFlagSet("lab standby", flag.ContinueOnError)
	prefix := fs.String("prefix", lab.DefaultPrefix, "lab name")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := lab.Standby(ctx, lab.Config{Prefix: *prefix, Log: os.Stdout}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	return 0
}
