package triggers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/downtime-lab/downtime/probes/sshdial"
)

// Shells an SSH trigger knows how to address.
const (
	ShellPOSIX      = ""           // the login shell of the remote user (sh, bash, ...)
	ShellPowerShell = "powershell" // Windows OpenSSH, whose default shell is cmd.exe
)

// SSH runs one command on a remote host, over a connection of its own.
type SSH struct {
	cfg     sshdial.Config
	command string
	shell   string
}

// NewSSH returns a trigger that runs command on the host of cfg. shell is
// ShellPOSIX (the remote login shell, which must be a POSIX one, runs the
// command; see SSHExec) or ShellPowerShell (it is wrapped with
// QuotePowerShell).
func NewSSH(cfg sshdial.Config, command, shell string) *SSH {
	return &SSH{cfg: cfg, command: command, shell: shell}
}

// Fire dials (verifying the host key), runs the command and streams its
// output to out. A non-zero exit is an error "exit status N" with
// Outcome.ExitCode set. When ctx ends first, the remote command is killed
// (see SSHExec; for powershell only the SSH signal is tried).
func (s *SSH) Fire(ctx context.Context, out io.Writer) (Outcome, error) {
	oc := Outcome{ExitCode: -1}
	cmd, err := remoteCommand(s.command, s.shell)
	if err != nil {
		return oc, err
	}
	client, err := sshdial.Dial(ctx, s.cfg)
	if err != nil {
		return oc, err
	}
	defer client.Close()
	watch := sshdial.WatchClient(ctx, client, keepAliveEvery, keepAliveTimeout)
	oc.ExitCode, err = execRemote(ctx, client, cmd, out, execOpts{posix: s.shell == ShellPOSIX})
	watch.Stop()
	if werr := watch.Err(); werr != nil && err != nil && ctx.Err() == nil {
		err = fmt.Errorf("%w (%v)", werr, err)
	}
	return oc, err
}

// A trigger's SSH link is checked this often, and given up after this long
// without an answer: a hypervisor host that vanishes mid-command makes the
// event fail with a transport error, not wait for the step's timeout.
// (Variables, so a test need not wait 20 s.)
var (
	keepAliveEvery   = 5 * time.Second
	keepAliveTimeout = 15 * time.Second
)

// remoteCommand checks command and wraps it for shell.
func remoteCommand(command, shell string) (string, error) {
	if strings.TrimSpace(command) == "" {
		return "", errors.New("ssh: empty command")
	}
	if strings.ContainsRune(command, 0) {
		return "", errors.New("ssh: the command contains a NUL byte")
	}
	switch shell {
	case ShellPOSIX:
		return command, nil
	case ShellPowerShell:
		// cmd.exe ends a command at a line break.
		if strings.ContainsAny(command, "\r\n") {
			return "", errors.New("ssh: a powershell command must be one line (join statements with ;)")
		}
		return QuotePowerShell(command), nil
	default:
		return "", fmt.Errorf("ssh: unknown shell %q (want \"\" or powershell)", shell)
	}
}

// powerShellPrefix starts the command line QuotePowerShell builds.
const powerShellPrefix = "powershell -NoProfile -NonInteractive -Command "

// QuotePowerShell returns the command line that makes a Windows OpenSSH
// server, whose default shell runs commands as `cmd.exe /c LINE`, run the
// one-line PowerShell script verbatim:
//
//	powershell -NoProfile -NonInteractive -Command ^"...^"
//
// Two parsers read the line. powershell.exe splits its arguments by the
// C runtime's rules, so the script is quoted as one argument: a double
// quote becomes \" and backslashes before a quote are doubled. cmd.exe
// reads the line first; a caret before each of its metacharacters
// ( ) % ! ^ " < > & | makes it take every one literally (the quotes
// included, so it never switches into its quoted mode) and it then drops
// the carets. The script's own quotes, pipes and $variables reach
// PowerShell unchanged.
func QuotePowerShell(script string) string {
	return powerShellPrefix + cmdEscape(argvQuote(script))
}

// argvQuote quotes s as one argument for CommandLineToArgvW and the
// C runtime's argument parser.
func argvQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; ; i++ {
		slashes := 0
		for i < len(s) && s[i] == '\\' {
			i++
			slashes++
		}
		switch {
		case i == len(s):
			// Backslashes before the closing quote are doubled.
			b.WriteString(strings.Repeat(`\`, 2*slashes))
			b.WriteByte('"')
			return b.String()
		case s[i] == '"':
			b.WriteString(strings.Repeat(`\`, 2*slashes+1))
		default:
			b.WriteString(strings.Repeat(`\`, slashes))
		}
		b.WriteByte(s[i])
	}
}

// cmdEscape puts a caret before every character cmd.exe would interpret.
func cmdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`()%!^"<>&|`, r) {
			b.WriteByte('^')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ShellQuote quotes s as one word for a POSIX shell. Words made only of
// characters no shell treats specially are left as they are, for readable
// logs; any other is put in single quotes, where a single quote of its
// own is written as quote, backslash, quote, quote.
func ShellQuote(s string) string {
	if s == "" {
		return "''"
	}
	plain := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-./:,+@%", r)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ShellJoin quotes every word of argv with ShellQuote and joins them with
// spaces: a POSIX shell splits the result back into exactly argv.
func ShellJoin(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = ShellQuote(a)
	}
	return strings.Join(words, " ")
}
