package calibrate

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/downtime-lab/downtime/scenarios/lab/netns"
	"github.com/downtime-lab/downtime/scenarios/lab/peers"
)

// Options tune Run.
type Options struct {
	// Cells to measure (see Plan).
	Cells []Cell
	// ChildArgv starts this program as the measuring child (which calls
	// Child), e.g. [/usr/bin/downtime lab calibrate -child]. Run runs it
	// inside the client namespace.
	ChildArgv []string
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// Row, when set, is called with each row as it arrives.
	Row func(Row)
}

// The services' ports in the server namespace.
const (
	sshPort  = 22
	echoPort = 7
	snmpPort = 161
)

// Run builds a namespace pair, starts sshd, a TCP echo and snmpd in the
// server namespace, runs the child in the client namespace and returns
// its rows, in the order of opt.Cells. Everything it made is removed
// before it returns, whatever happens. It needs root.
func Run(ctx context.Context, opt Options) (rows []Row, err error) {
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("calibrate: needs root (network namespaces, nftables)")
	}
	if len(opt.ChildArgv) == 0 {
		return nil, errors.New("calibrate: no child command")
	}
	if err := peers.Available(); err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	env, err := setup(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, env.close()) }()
	fmt.Fprintf(opt.Log, "calibrate: server %s in %s (sshd, echo on tcp/%d, snmpd), probes in %s\n",
		env.tg.Addr, env.tg.ServerNS, echoPort, env.pair.Client.Name)
	return runChild(ctx, env.pair.Client, Job{Targets: env.tg, Cells: opt.Cells}, opt)
}

// env is the namespaces and services of one calibration.
type env struct {
	pair    *netns.Pair
	dir     string
	closers []func() error
	tg      Targets
}

func setup(ctx context.Context) (e *env, err error) {
	e = &env{}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.close())
			e = nil
		}
	}()
	if e.pair, err = netns.NewPair(); err != nil {
		return e, err
	}
	if e.dir, err = os.MkdirTemp("", "downtime-calibrate-"); err != nil {
		return e, err
	}
	srv, addr := e.pair.Server.Name, e.pair.Server4
	for _, sub := range []string{"sshd", "snmpd"} {
		if err = os.Mkdir(filepath.Join(e.dir, sub), 0o700); err != nil {
			return e, err
		}
	}
	sshd, err := peers.StartSSHD(srv, addr, sshPort, filepath.Join(e.dir, "sshd"))
	if err != nil {
		return e, err
	}
	e.closers = append(e.closers, sshd.Close)
	echo, err := peers.StartEcho(srv, addr, echoPort)
	if err != nil {
		return e, err
	}
	e.closers = append(e.closers, echo.Close)
	community, err := randomCommunity()
	if err != nil {
		return e, err
	}
	snmpd, err := peers.StartSNMPD(ctx, srv, addr, snmpPort, community, filepath.Join(e.dir, "snmpd"))
	if err != nil {
		return e, err
	}
	e.closers = append(e.closers, snmpd.Close)
	e.tg = Targets{
		ServerNS: srv, Addr: addr,
		SSHPort: sshPort, SSHUser: sshd.User, IdentityFile: sshd.IdentityFile, KnownHosts: sshd.KnownHosts,
		EchoPort: echoPort, SNMPPort: snmpPort, Community: community,
	}
	return e, nil
}

// close stops the services, then deletes the namespaces and files.
func (e *env) close() error {
	var errs []error
	for i := len(e.closers) - 1; i >= 0; i-- {
		errs = append(errs, e.closers[i]())
	}
	if e.pair != nil {
		errs = append(errs, e.pair.Close())
	}
	if e.dir != "" {
		errs = append(errs, os.RemoveAll(e.dir))
	}
	return errors.Join(errs...)
}

func randomCommunity() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "cal" + hex.EncodeToString(b), nil
}

// runChild runs opt.ChildArgv inside ns with job on its standard input
// and collects the rows it writes.
func runChild(ctx context.Context, ns *netns.NS, job Job, opt Options) ([]Row, error) {
	in, err := json.Marshal(job)
	if err != nil {
		return nil, err
	}
	cmd := ns.Command(ctx, opt.ChildArgv[0], opt.ChildArgv[1:]...)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = opt.Log
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("calibrate: start the child in %s: %w", ns.Name, err)
	}
	var rows []Row
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 4096), 1<<20)
	var decodeErr error
	for sc.Scan() {
		var r Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			decodeErr = fmt.Errorf("calibrate: child wrote %q: %w", sc.Text(), err)
			continue
		}
		rows = append(rows, r)
		if opt.Row != nil {
			opt.Row(r)
		}
	}
	err = cmd.Wait()
	if err != nil {
		err = fmt.Errorf("calibrate: child in %s: %w", ns.Name, err)
	}
	if err = errors.Join(err, decodeErr); err != nil {
		return rows, err
	}
	if len(rows) != len(job.Cells) {
		return rows, fmt.Errorf("calibrate: child measured %d of %d cells", len(rows), len(job.Cells))
	}
	return rows, nil
}
