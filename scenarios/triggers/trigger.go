// Package triggers fires the actions of a scenario's timeline: a local
// command, a command over SSH, QEMU's QMP, libvirt, a link down or up.
//
// Each kind lives in its own file behind the Trigger interface. A trigger
// only acts; the runner times it, applies its timeout and records the Event.
package triggers

import (
	"context"
	"io"
	"time"
)

// Trigger performs one action of the timeline.
type Trigger interface {
	// Fire runs the action to completion or until ctx is done (the runner
	// puts the step's timeout on ctx), writing any output of the action to
	// out. Cancelling ctx must stop the action, remote commands included.
	// An error means the action failed; the runner records it, and the run
	// goes on.
	Fire(ctx context.Context, out io.Writer) (Outcome, error)
}

// Outcome is what a finished action reports beyond success or failure.
type Outcome struct {
	ExitCode   int         // exit status of a command; -1 when there is none
	Hypervisor *Hypervisor // the hypervisor's own figures, when it gave any
}

// Hypervisor holds what the hypervisor itself says a migration cost.
// It is kept beside the measured gaps, never merged with them.
type Hypervisor struct {
	Source          string  `json:"source"`                                // e.g. "qmp query-migrate", "virsh domjobinfo"
	DowntimeMS      float64 `json:"hypervisor_downtime_ms"`                // guest paused, as the hypervisor reports it
	DowntimeNoNetMS float64 `json:"downtime_without_network_ms,omitempty"` // libvirt: downtime w/o network
	TotalTimeMS     float64 `json:"total_time_ms,omitempty"`
	SetupTimeMS     float64 `json:"setup_time_ms,omitempty"`
	Version         string  `json:"version,omitempty"` // hypervisor version, when readable
}

// Status is how a trigger ended.
type Status string

// The statuses of an Event.
const (
	StatusRunning Status = "running" // started, not yet ended (a killed run)
	StatusOK      Status = "ok"
	StatusFailed  Status = "failed"
	StatusTimeout Status = "timeout"
	StatusCancel  Status = "cancelled" // the run was interrupted
)

// Event is the record of one trigger firing.
type Event struct {
	Name       string        `json:"name"`
	Kind       string        `json:"kind"`
	Start      time.Duration `json:"-"` // offset from run start
	End        time.Duration `json:"-"`
	Status     Status        `json:"status"`
	ExitCode   int           `json:"exit_code"`
	Error      string        `json:"error,omitempty"`
	Output     string        `json:"output,omitempty"` // side file in the run directory
	Hypervisor *Hypervisor   `json:"hypervisor,omitempty"`
}
