package scenarios

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/netip"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxGroup is the most members a target group may have.
const MaxGroup = 10000

// rawTarget is a target as decoded, with where it was written.
type rawTarget struct {
	path string // targets.NAME
	Target
}

// targets decodes the targets mapping, keeping file order.
func (d *yamlDecoder) targets(n *yaml.Node, path string, line int) []rawTarget {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	d.set[path] = true
	if n.Kind != yaml.MappingNode {
		d.errAt(line, path, "expected a mapping of target names to addresses, got %s", describe(n))
		d.bad[path] = true
		return nil
	}
	var out []rawTarget
	for _, kv := range d.pairs(n, path) {
		t := rawTarget{path: joinPath(path, kv.key.Value)}
		t.Name = kv.key.Value
		d.lines[t.path] = kv.key.Line
		if isNull(deref(kv.val)) {
			d.set[t.path] = true // written, but empty: reported by the checker
		} else {
			d.value(kv.val, refValue(&t.Target), t.path, kv.key.Line)
		}
		out = append(out, t)
	}
	return out
}

// checkTargets validates targets and fills their Members.
func (c *checker) checkTargets(ts []rawTarget) {
	for _, t := range ts {
		if c.bad[t.path] {
			continue
		}
		if !nameRe.MatchString(t.Name) {
			c.errAt(c.lines[t.path], t.path, "%s is not a valid name (letters, digits, _ . -; at most 64)", quote(t.Name))
		}
		var given []string
		for _, k := range []string{"address", "addresses", "file", "range"} {
			if c.set[t.path+"."+k] {
				given = append(given, k)
			}
		}
		switch len(given) {
		case 0:
			c.errAt(c.lines[t.path], t.path, "needs one of address, addresses, file or range")
		case 1:
			t.Members = c.members(t, given[0])
		default:
			c.errAt(c.lines[t.path+"."+given[1]], t.path+"."+given[1], "give only one of address, addresses, file or range (also %s)", given[0])
		}
		if p := t.path + ".failover_address"; c.has(p) {
			switch {
			case given == nil || given[0] != "address":
				c.errAt(c.lines[p], p, "only for a target with a single address")
			case !validAddress(t.FailoverAddress):
				c.errAt(c.lines[p], p, "%s is not an IP address or hostname", quote(t.FailoverAddress))
			}
		}
		c.s.Targets = append(c.s.Targets, t.Target)
	}
}

// members resolves the one address key given into the member list.
func (c *checker) members(t rawTarget, key string) []string {
	p := t.path + "." + key
	if c.bad[p] {
		return nil
	}
	line := c.lines[p]
	switch key {
	case "address":
		if !validAddress(t.Address) {
			c.errAt(line, p, "%s is not an IP address or hostname", quote(t.Address))
			return nil
		}
		return []string{t.Address}
	case "addresses":
		return c.group(p, t.Addresses, func(i int) (int, string) {
			ip := fmt.Sprintf("%s[%d]", p, i)
			return c.lines[ip], ip
		})
	case "file":
		path := c.localPath(t.File)
		list, lines, err := readAddressFile(path)
		if err != "" {
			c.errAt(line, p, "%s", err)
			return nil
		}
		return c.group(p, list, func(i int) (int, string) {
			return line, fmt.Sprintf("%s: %s line %d", p, t.File, lines[i])
		})
	case "range":
		m, err := expandRange(t.Range)
		if err != "" {
			c.errAt(line, p, "%s", err)
			return nil
		}
		return m
	}
	return nil
}

// group checks a list of addresses: valid, no repeats, not too many.
func (c *checker) group(path string, list []string, where func(i int) (int, string)) []string {
	if len(list) == 0 {
		c.errAt(c.lines[path], path, "no addresses")
		return nil
	}
	if len(list) > MaxGroup {
		c.errAt(c.lines[path], path, "%d addresses; a group holds at most %d", len(list), MaxGroup)
		return nil
	}
	seen := map[string]int{}
	ok := true
	for i, a := range list {
		line, p := where(i)
		if c.bad[p] {
			ok = false
			continue
		}
		if !validAddress(a) {
			c.errAt(line, p, "%s is not an IP address or hostname", quote(a))
			ok = false
		} else if j, dup := seen[a]; dup {
			_, first := where(j)
			c.errAt(line, p, "%s is listed twice (also %s)", quote(a), first)
			ok = false
		}
		seen[a] = i
	}
	if !ok {
		return nil
	}
	return list
}

// readAddressFile reads one address per line; # starts a comment.
func readAddressFile(path string) (list []string, lines []int, problem string) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, fmt.Sprintf("%s does not exist", quote(path))
	case err != nil:
		return nil, nil, fmt.Sprintf("cannot read %s: %s", quote(path), fileError(err))
	case !fi.Mode().IsRegular():
		return nil, nil, fmt.Sprintf("%s is not a regular file", quote(path))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Sprintf("cannot read %s: %s", quote(path), fileError(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, nil, fmt.Sprintf("cannot read %s: %s", quote(path), fileError(err))
	}
	if len(data) > MaxFileSize {
		return nil, nil, fmt.Sprintf("%s is larger than 1 MiB", quote(path))
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, MaxFileSize)
	for n := 1; sc.Scan(); n++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		if text = strings.TrimSpace(text); text != "" {
			list = append(list, text)
			lines = append(lines, n)
		}
	}
	return list, lines, ""
}

// expandRange lists the hosts of "first-last" or of a CIDR prefix. For an
// IPv4 prefix shorter than /31, the network and broadcast addresses are
// left out.
func expandRange(r string) ([]string, string) {
	if strings.Contains(r, "/") {
		return expandPrefix(r)
	}
	a, b, ok := strings.Cut(r, "-")
	first, err1 := netip.ParseAddr(strings.TrimSpace(a))
	last, err2 := netip.ParseAddr(strings.TrimSpace(b))
	switch {
	case !ok || err1 != nil || err2 != nil:
		return nil, fmt.Sprintf("%s is not a range (use FIRST-LAST, e.g. 10.0.0.10-10.0.0.209, or a CIDR prefix)", quote(r))
	case first.Is4() != last.Is4() || first.Zone() != last.Zone():
		return nil, fmt.Sprintf("%s mixes address families", quote(r))
	case last.Less(first):
		return nil, fmt.Sprintf("%s ends before it starts", quote(r))
	}
	return rangeHosts(first, last, r)
}

func expandPrefix(r string) ([]string, string) {
	p, err := netip.ParsePrefix(strings.TrimSpace(r))
	if err != nil {
		return nil, fmt.Sprintf("%s is not a CIDR prefix (e.g. 10.0.0.0/24)", quote(r))
	}
	if p.Masked() != p {
		return nil, fmt.Sprintf("%s has host bits set (did you mean %s?)", quote(r), p.Masked())
	}
	first := p.Addr()
	bits := p.Addr().BitLen() - p.Bits()
	// last = first + 2^bits - 1, computed in 128 bits.
	n := new(big.Int).SetBytes(first.AsSlice())
	n.Add(n, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(bits)), big.NewInt(1)))
	buf := n.FillBytes(make([]byte, first.BitLen()/8))
	last, _ := netip.AddrFromSlice(buf)
	if first.Is4() && bits > 1 {
		first, last = first.Next(), last.Prev()
	}
	return rangeHosts(first, last, r)
}

// rangeHosts lists first..last, refusing more than MaxGroup.
func rangeHosts(first, last netip.Addr, r string) ([]string, string) {
	var out []string
	for a := first; a.IsValid(); a = a.Next() {
		if len(out) == MaxGroup {
			return nil, fmt.Sprintf("%s holds more than %d addresses, the most a group may have", quote(r), MaxGroup)
		}
		out = append(out, a.String())
		if a == last {
			break
		}
	}
	return out, ""
}
