package triggers

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// There is no Windows here: these tests check QuotePowerShell against a
// model of the two parsers a Windows OpenSSH server puts the line through
// (cmd.exe's caret and quote handling, then the C runtime's argument
// splitting in powershell.exe), not against a real Windows host.
func TestQuotePowerShell(t *testing.T) {
	golden := map[string]string{
		`Get-Service W32Time | Restart-Service`: `powershell -NoProfile -NonInteractive -Command ^"Get-Service W32Time ^| Restart-Service^"`,
		`Write-Output "a b"`:                    `powershell -NoProfile -NonInteractive -Command ^"Write-Output \^"a b\^"^"`,
		`dir C:\tmp\`:                           `powershell -NoProfile -NonInteractive -Command ^"dir C:\tmp\\^"`,
	}
	for in, want := range golden {
		if got := QuotePowerShell(in); got != want {
			t.Errorf("QuotePowerShell(%q)\n got %s\nwant %s", in, got, want)
		}
	}
	scripts := []string{
		"",
		"Get-Date",
		`Restart-Service -Name "W32Time" -Force; Write-Output 'done'`,
		`$env:PATH; $x = "$($env:USERNAME) & co"`,
		`echo %PATH% %%TEMP%% 100%`,
		`(Get-Date).ToString("yyyy-MM-dd") > C:\out.txt 2>&1 < nul`,
		`"quoted at both ends"`,
		`a\"b \\"c \\\"d`,
		`C:\Program Files\x\ `,
		`trailing backslashes \\`,
		`caret ^ bang ! pipe | amp && or ||`,
		`ünïcödé ✓ 'single' "double"`,
		`""`,
		`\`,
	}
	for _, s := range scripts {
		line := QuotePowerShell(s)
		after, err := simulateCmd(line)
		if err != nil {
			t.Errorf("script %q: cmd.exe would misread %s: %v", s, line, err)
			continue
		}
		args := splitWindowsArgs(after)
		want := []string{"powershell", "-NoProfile", "-NonInteractive", "-Command", s}
		if len(args) != len(want) || strings.Join(args, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("script %q: line %s\nreaches powershell.exe as %q, want %q", s, line, args, want)
		}
	}
}

// simulateCmd models what cmd.exe (`cmd /c LINE`, delayed expansion off)
// does to a command line: it fails on a %VAR% it would expand or on a
// metacharacter it would act on, and otherwise returns the line with the
// escaping carets removed.
func simulateCmd(line string) (string, error) {
	// Phase 1: %NAME% expands if NAME is set; a caret inside the name
	// makes it a variable that is never set.
	for i := 0; i < len(line); i++ {
		if line[i] != '%' {
			continue
		}
		j := strings.IndexByte(line[i+1:], '%')
		if j < 0 {
			break
		}
		if name := line[i+1 : i+1+j]; name != "" && !strings.Contains(name, "^") {
			return "", fmt.Errorf("expands %%%s%%", name)
		}
		i += j // the closing % may open the next pair
	}
	var b strings.Builder
	quoted := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '"':
			quoted = !quoted
			b.WriteByte(c)
		case quoted:
			b.WriteByte(c)
		case c == '^':
			if i+1 == len(line) {
				return "", errors.New("caret at the end of the line")
			}
			i++
			b.WriteByte(line[i])
		case strings.IndexByte("&|<>()", c) >= 0:
			return "", fmt.Errorf("unescaped %q outside quotes", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// splitWindowsArgs splits a command line by the C runtime's rules (as
// CommandLineToArgvW and powershell.exe's main do).
func splitWindowsArgs(line string) []string {
	var args []string
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i == len(line) {
			return args
		}
		var b strings.Builder
		quoted := false
		for i < len(line) && (quoted || (line[i] != ' ' && line[i] != '\t')) {
			slashes := 0
			for i < len(line) && line[i] == '\\' {
				slashes++
				i++
			}
			if i < len(line) && line[i] == '"' {
				b.WriteString(strings.Repeat(`\`, slashes/2))
				if slashes%2 == 1 {
					b.WriteByte('"')
				} else if quoted && i+1 < len(line) && line[i+1] == '"' {
					b.WriteByte('"') // "" inside quotes: a literal quote
					i++
				} else {
					quoted = !quoted
				}
				i++
				continue
			}
			b.WriteString(strings.Repeat(`\`, slashes))
			if i < len(line) && (quoted || (line[i] != ' ' && line[i] != '\t')) {
				b.WriteByte(line[i])
				i++
			}
		}
		args = append(args, b.String())
	}
}

// TestShellQuote round-trips words through a real POSIX shell.
func TestShellQuote(t *testing.T) {
	words := []string{"", "plain", "with space", "it's", `"double"`, "$HOME", "`id`", "a;b", "a&b|c",
		"*", "~", "new\nline", "tab\there", "back\\slash", "qemu+ssh://root@dst/system?keyfile=/k&no_verify=1",
		"--bandwidth", "x=1", "ünïcödé", "'", "''", "!"}
	for in, want := range map[string]string{"plain": "plain", "/usr/bin/virsh": "/usr/bin/virsh", "": "''", "it's": `'it'\''s'`, "x=1": "'x=1'"} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
	out, err := exec.Command("sh", "-c", `printf '%s\0' `+ShellJoin(words)).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if strings.Join(got, "\x01") != strings.Join(words, "\x01") {
		t.Errorf("sh split ShellJoin(words) into\n%q\nwant\n%q", got, words)
	}
}
