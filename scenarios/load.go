package scenarios

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize is the largest scenario file (and target address file) read.
const MaxFileSize = 1 << 20

// maxNodes bounds the YAML nodes a document may expand to through aliases.
// A 1 MiB file holds at most about half a million nodes written out, so
// only an alias bomb ("billion laughs") goes past it.
const maxNodes = 1_000_000

// Load reads a scenario file and parses it (see Parse). Files larger than
// MaxFileSize are refused unread.
func Load(path string) (*Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: fileError(err)}}
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxFileSize {
		return nil, Errors{tooLarge(path)}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, Errors{{File: path, Msg: fileError(err)}}
	}
	return Parse(path, data)
}

func tooLarge(file string) *Error {
	return &Error{File: file, Msg: fmt.Sprintf("file is larger than %d bytes (1 MiB), too large for a scenario", MaxFileSize)}
}

// fileError words an error opening or reading a file, without repeating
// the path the caller already shows.
func fileError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return "cannot read: " + err.Error()
}

// Parse parses and validates a scenario. file names it in messages and
// anchors relative paths (target address files, SSH keys) at its
// directory. The result has every default filled in.
//
// On failure the error is an Errors listing every problem found, each as
// "file:line: path: what is wrong".
func Parse(file string, data []byte) (s *Scenario, err error) {
	defer func() {
		// The YAML library is fuzzed but not ours: a bug there is still
		// a bad input, never a crash.
		if r := recover(); r != nil {
			s, err = nil, Errors{{File: file, Line: 1, Msg: fmt.Sprintf("cannot parse (internal error: %v)", r)}}
		}
	}()
	if len(data) > MaxFileSize {
		return nil, Errors{tooLarge(file)}
	}
	root, perr := parseYAML(file, data)
	if perr != nil {
		return nil, Errors{perr}
	}
	sum := sha256.Sum256(data)
	s = &Scenario{File: file, Hash: hex.EncodeToString(sum[:])}
	d := newYAMLDecoder(file)
	var targets []rawTarget
	d.structure(root, reflect.ValueOf(s).Elem(), "", root.Line, map[string]fieldHandler{
		"targets": func(n *yaml.Node, path string, line int) { targets = d.targets(n, path, line) },
	})
	c := &checker{yamlDecoder: d, s: s, dir: dirOf(file)}
	c.check(root.Line, targets)
	if len(c.errs) > 0 {
		return nil, c.errs.sorted()
	}
	return s, nil
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML reads exactly one YAML document whose top level is a mapping,
// and refuses alias bombs and self-referencing aliases.
func parseYAML(file string, data []byte) (*yaml.Node, *Error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: file, Line: 1, Msg: "empty file (no YAML document)"}
		}
		return nil, yamlError(file, data, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, &Error{File: file, Line: max(next.Line, 1), Msg: "a second YAML document; a scenario file holds one (remove the ---)"}
	case !errors.Is(err, io.EOF):
		return nil, yamlError(file, data, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if line, msg := checkAliases(root); msg != "" {
		return nil, &Error{File: file, Line: line, Msg: msg}
	}
	if r := deref(root); r.Kind != yaml.MappingNode {
		return nil, &Error{File: file, Line: max(root.Line, 1), Msg: "expected a mapping of keys (name:, probes:, ...) at the top, got " + describe(r)}
	}
	return root, nil
}

// yamlError turns the YAML library's error into ours. The library leaves
// out the line of some errors; for those we find it ourselves.
func yamlError(file string, data []byte, err error) *Error {
	if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: max(line, 1), Msg: "invalid YAML: " + m[2]}
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := unknownAnchorRe.FindStringSubmatch(msg); m != nil {
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			line = lineAt(data, i)
		}
	} else if i := badByte(data); i >= 0 {
		line = lineAt(data, i)
	}
	return &Error{File: file, Line: line, Msg: "invalid YAML: " + msg}
}

var unknownAnchorRe = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

// badByte finds the first byte YAML refuses to read: a control character
// or invalid UTF-8 (binary data). It returns -1 when there is none.
func badByte(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 || r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
			return i
		}
		i += size
	}
	return -1
}

func lineAt(data []byte, i int) int { return 1 + bytes.Count(data[:i], []byte("\n")) }

// checkAliases counts the nodes the document expands to, following aliases
// (each distinct node is measured once, so this is linear in the file). It
// returns the line and message of the first problem.
func checkAliases(root *yaml.Node) (int, string) {
	size := map[*yaml.Node]int{}
	onPath := map[*yaml.Node]bool{}
	var line int
	var msg string
	var walk func(n *yaml.Node) int
	walk = func(n *yaml.Node) int {
		if msg != "" {
			return 0
		}
		if n.Kind == yaml.AliasNode {
			if n.Alias == nil {
				return 1
			}
			if onPath[n.Alias] {
				line, msg = n.Line, fmt.Sprintf("alias *%s refers to a node that contains it", n.Value)
				return 0
			}
			return 1 + walk(n.Alias)
		}
		if s, ok := size[n]; ok {
			return s
		}
		onPath[n] = true
		s := 1
		for _, c := range n.Content {
			s += walk(c)
			if s > maxNodes {
				if msg == "" {
					line, msg = c.Line, fmt.Sprintf("aliases expand the document beyond %d nodes (an alias bomb?)", maxNodes)
				}
				break
			}
		}
		onPath[n] = false
		size[n] = s
		return s
	}
	walk(root)
	return line, msg
}
