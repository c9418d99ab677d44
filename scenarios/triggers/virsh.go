package triggers

// The virsh trigger shells out to the virsh command rather than speaking
// libvirt's RPC protocol (go-libvirt): virsh works over the SSH access the
// user already has, with qemu+ssh:// destination URIs exactly as they type
// them today, while RPC from the jump host would need access to libvirtd's
// socket on the source (or a tunnel to it). `virsh domjobinfo --completed`
// gives the same job statistics the RPC would.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/downtime-lab/downtime/probes/sshdial"
)

// DefaultVirshQueryTimeout bounds each query after a migration (domjobinfo,
// version) when VirshConfig.Timeout is zero.
const DefaultVirshQueryTimeout = 30 * time.Second

// virshAbortGrace is how long a cancelled `virsh migrate` gets, after
// SIGINT, to abort the migration job (virsh calls virDomainAbortJob on
// SIGINT) before it is killed.
const virshAbortGrace = 5 * time.Second

// virshBoolFlags are the `virsh migrate` switches a scenario may name.
var virshBoolFlags = []string{"live", "persistent", "undefinesource", "compressed", "auto-converge",
	"postcopy", "tunnelled", "p2p", "copy-storage-all", "copy-storage-inc"}

// VirshConfig configures a virsh live migration.
type VirshConfig struct {
	Domain      string // the libvirt domain (name, id or UUID)
	Destination string // destination URI, e.g. qemu+ssh://host2/system
	// Flags are switches of virsh migrate without their dashes ("live",
	// "undefinesource", ...) or key=value options ("bandwidth=100" becomes
	// --bandwidth 100).
	Flags []string
	// Remote, if set, runs virsh on that host over SSH (a POSIX login
	// shell is assumed there); nil runs it here.
	Remote *sshdial.Config
	// Binary is the virsh program; "" means "virsh", found in PATH.
	Binary string
	// Timeout bounds each query after the migration (domjobinfo, version),
	// so a hung query cannot eat the step's timeout; 0 means
	// DefaultVirshQueryTimeout.
	Timeout time.Duration
}

// Virsh migrates a libvirt domain with `virsh migrate`, then reads the
// job's figures with `virsh domjobinfo --completed`.
type Virsh struct{ cfg VirshConfig }

// NewVirsh returns a virsh trigger.
func NewVirsh(cfg VirshConfig) *Virsh {
	if cfg.Binary == "" {
		cfg.Binary = "virsh"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultVirshQueryTimeout
	}
	return &Virsh{cfg: cfg}
}

// VirshArgs returns the arguments of virsh (without the program name) for
// cfg's migration: migrate, the flags, --verbose, the domain and the
// destination URI.
func VirshArgs(cfg VirshConfig) []string {
	args := []string{"migrate"}
	for _, f := range cfg.Flags {
		f = strings.TrimLeft(f, "-")
		if k, v, ok := strings.Cut(f, "="); ok {
			args = append(args, "--"+k, v)
		} else {
			args = append(args, "--"+f)
		}
	}
	return append(args, "--verbose", cfg.Domain, cfg.Destination)
}

// check refuses settings that would make virsh misread its command line.
func (c VirshConfig) check() error {
	switch {
	case c.Domain == "":
		return errors.New("virsh: no domain")
	case c.Destination == "":
		return errors.New("virsh: no destination URI")
	case strings.HasPrefix(c.Domain, "-") || strings.HasPrefix(c.Destination, "-"):
		return errors.New("virsh: domain and destination must not start with '-'")
	}
	for _, f := range c.Flags {
		name := strings.TrimLeft(f, "-")
		if k, v, ok := strings.Cut(name, "="); ok {
			if k == "" || v == "" || strings.ContainsAny(k, " \t") {
				return fmt.Errorf("virsh: flag %q is not key=value", f)
			}
			continue
		}
		if !slices.Contains(virshBoolFlags, name) {
			return fmt.Errorf("virsh: %q is not a virsh migrate flag (%s, or key=value)", f, strings.Join(virshBoolFlags, ", "))
		}
	}
	return nil
}

// runFunc runs virsh with args where the trigger runs it.
type runFunc func(ctx context.Context, args []string, out io.Writer, grace time.Duration) (int, error)

// Fire runs the migration and streams virsh's output to out. A failed
// migration is an error carrying virsh's own error lines. After a
// successful one, the job's figures go to Outcome.Hypervisor (best
// effort: a migration whose figures cannot be read still succeeded).
// Cancelling ctx interrupts virsh, which aborts the migration job.
func (v *Virsh) Fire(ctx context.Context, out io.Writer) (Outcome, error) {
	oc := Outcome{ExitCode: -1}
	if err := v.cfg.check(); err != nil {
		return oc, err
	}
	run, done, err := v.runner(ctx)
	if err != nil {
		return oc, err
	}
	defer done()
	args := VirshArgs(v.cfg)
	fmt.Fprintf(out, "virsh: %s\n", ShellJoin(append([]string{v.cfg.Binary}, args...)))
	tail := &tailBuffer{max: 64 << 10}
	code, err := run(ctx, args, io.MultiWriter(out, tail), virshAbortGrace)
	oc.ExitCode = code
	if err != nil {
		if ctx.Err() != nil {
			return oc, err
		}
		if msg := virshErrors(tail.String()); msg != "" {
			return oc, fmt.Errorf("virsh migrate: %w: %s", err, msg)
		}
		return oc, fmt.Errorf("virsh migrate: %w", err)
	}
	oc.Hypervisor = v.jobStats(ctx, run, out)
	return oc, nil
}

// runner returns how to run virsh (here, or over one SSH connection kept
// for all commands of this firing) and how to release it.
func (v *Virsh) runner(ctx context.Context) (runFunc, func(), error) {
	if v.cfg.Remote == nil {
		return func(ctx context.Context, args []string, out io.Writer, grace time.Duration) (int, error) {
			// virsh's labels are translated: parse them in the C locale.
			return runLocal(ctx, append([]string{v.cfg.Binary}, args...), []string{"LC_ALL=C"}, out, grace)
		}, func() {}, nil
	}
	client, err := sshdial.Dial(ctx, *v.cfg.Remote)
	if err != nil {
		return nil, nil, err
	}
	// A migration can run for minutes: notice a host that goes silent.
	watch := sshdial.WatchClient(ctx, client, keepAliveEvery, keepAliveTimeout)
	return func(ctx context.Context, args []string, out io.Writer, grace time.Duration) (int, error) {
			cmd := "LC_ALL=C " + ShellJoin(append([]string{v.cfg.Binary}, args...))
			code, err := execRemote(ctx, client, cmd, out, execOpts{posix: true, grace: grace})
			if werr := watch.Err(); werr != nil && err != nil && ctx.Err() == nil {
				err = fmt.Errorf("%w (%v)", werr, err)
			}
			return code, err
		}, func() {
			watch.Stop()
			_ = client.Close()
		}, nil
}

// jobStats reads the completed job's figures and libvirt's version; nil
// if the figures cannot be had. What virsh says goes to out.
func (v *Virsh) jobStats(ctx context.Context, run runFunc, out io.Writer) *Hypervisor {
	query := func(args ...string) (string, error) {
		qctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
		defer cancel()
		var buf bytes.Buffer
		_, err := run(qctx, args, &buf, 0)
		fmt.Fprintf(out, "virsh: %s\n%s", ShellJoin(append([]string{v.cfg.Binary}, args...)), buf.String())
		if err != nil {
			if msg := virshErrors(buf.String()); msg != "" {
				err = fmt.Errorf("%w: %s", err, msg)
			}
			return "", err
		}
		return buf.String(), nil
	}
	parse := func(text string, err error) (*Hypervisor, error) {
		if err != nil {
			return nil, err
		}
		return ParseDomJobInfo(text)
	}
	h, err := parse(query("domjobinfo", "--completed", v.cfg.Domain))
	if err != nil {
		// After --undefinesource the source no longer knows the domain;
		// the destination keeps the same figures for its incoming job.
		fmt.Fprintf(out, "virsh: no job figures on the source (%v); asking the destination\n", err)
		h, err = parse(query("-c", v.cfg.Destination, "domjobinfo", "--completed", v.cfg.Domain))
	}
	if err != nil {
		fmt.Fprintf(out, "virsh: no job figures: %v\n", err)
		return nil
	}
	if text, err := query("version"); err == nil {
		h.Version = parseVirshVersion(text)
	}
	fmt.Fprintf(out, "virsh: downtime %.0f ms, total %.0f ms, setup %.0f ms\n", h.DowntimeMS, h.TotalTimeMS, h.SetupTimeMS)
	return h
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }
