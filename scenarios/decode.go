package scenarios

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// yamlDecoder fills Go values from a yaml.Node tree, strictly: unknown keys,
// repeated keys and wrong types are errors. It records the line and text of
// every key it meets, so that validation can point at them afterwards.
//
// It understands the field types the scenario uses: string, bool, int,
// float64, time.Duration, pointers to those, []string, []struct and
// map[string]struct, keyed by the `yaml` struct tags.
type yamlDecoder struct {
	file  string
	errs  Errors
	lines map[string]int    // path -> line of the key (or list item)
	raw   map[string]string // path -> the scalar as written
	set   map[string]bool   // paths given a non-null value
	bad   map[string]bool   // paths whose value could not be decoded
}

func newYAMLDecoder(file string) *yamlDecoder {
	return &yamlDecoder{
		file:  file,
		lines: map[string]int{},
		raw:   map[string]string{},
		set:   map[string]bool{},
		bad:   map[string]bool{},
	}
}

func (d *yamlDecoder) errAt(line int, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// fieldHandler decodes a key that has no struct field of its own.
type fieldHandler func(val *yaml.Node, path string, line int)

var durationType = reflect.TypeFor[time.Duration]()

// value decodes n into v. line is where the key (or list item) was written.
func (d *yamlDecoder) value(n *yaml.Node, v reflect.Value, path string, line int) {
	d.lines[path] = line
	n = deref(n)
	if isNull(n) {
		return // unset: defaults apply
	}
	d.set[path] = true
	if n.Kind == yaml.ScalarNode {
		d.raw[path] = n.Value
	}
	ok := true
	switch t := v.Type(); {
	case t == durationType:
		ok = d.duration(n, v, path, line)
	case t.Kind() == reflect.Pointer:
		p := reflect.New(t.Elem())
		d.value(n, p.Elem(), path, line)
		if !d.bad[path] {
			v.Set(p)
		}
		return
	case t.Kind() == reflect.Struct:
		d.structure(n, v, path, line, nil)
		return
	case t.Kind() == reflect.Slice:
		d.list(n, v, path, line)
		return
	case t.Kind() == reflect.Map:
		d.dict(n, v, path, line)
		return
	default:
		ok = d.scalar(n, v, path, line)
	}
	if !ok {
		d.bad[path] = true
	}
}

func (d *yamlDecoder) duration(n *yaml.Node, v reflect.Value, path string, line int) bool {
	if n.Kind != yaml.ScalarNode {
		d.errAt(line, path, "expected a duration (e.g. 10ms, 1s), got %s", describe(n))
		return false
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil {
		d.errAt(line, path, "%s is not a duration (use e.g. 10ms, 1s)", quote(n.Value))
		return false
	}
	v.SetInt(int64(dur))
	return true
}

func (d *yamlDecoder) scalar(n *yaml.Node, v reflect.Value, path string, line int) bool {
	want := map[reflect.Kind]string{
		reflect.String: "a string", reflect.Bool: "true or false",
		reflect.Int: "an integer", reflect.Float64: "a number",
	}[v.Kind()]
	if want == "" {
		d.errAt(line, path, "internal error: cannot decode into %s", v.Type())
		return false
	}
	if n.Kind != yaml.ScalarNode {
		d.errAt(line, path, "expected %s, got %s", want, describe(n))
		return false
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value) // any scalar reads as text: version: 3 means "3"
	case reflect.Bool:
		var b bool
		if n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.errAt(line, path, "%s is not a boolean (use true or false)", quote(n.Value))
			return false
		}
		v.SetBool(b)
	case reflect.Int:
		var i int64
		if n.ShortTag() != "!!int" || n.Decode(&i) != nil || i != int64(int(i)) {
			d.errAt(line, path, "%s is not an integer", quote(n.Value))
			return false
		}
		v.SetInt(i)
	case reflect.Float64:
		var f float64
		tag := n.ShortTag()
		if (tag != "!!int" && tag != "!!float") || n.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.errAt(line, path, "%s is not a number", quote(n.Value))
			return false
		}
		v.SetFloat(f)
	}
	return true
}

func (d *yamlDecoder) list(n *yaml.Node, v reflect.Value, path string, line int) {
	if n.Kind != yaml.SequenceNode {
		d.errAt(line, path, "expected a list, got %s", describe(n))
		d.bad[path] = true
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		if isNull(deref(item)) {
			d.lines[p] = item.Line
			d.errAt(item.Line, p, "empty list item")
			d.bad[p] = true
			continue
		}
		d.value(item, s.Index(i), p, item.Line)
	}
	v.Set(s)
}

func (d *yamlDecoder) dict(n *yaml.Node, v reflect.Value, path string, line int) {
	if n.Kind != yaml.MappingNode {
		d.errAt(line, path, "expected a mapping, got %s", describe(n))
		d.bad[path] = true
		return
	}
	m := reflect.MakeMap(v.Type())
	for _, kv := range d.pairs(n, path) {
		elem := reflect.New(v.Type().Elem()).Elem()
		d.value(kv.val, elem, joinPath(path, kv.key.Value), kv.key.Line)
		m.SetMapIndex(reflect.ValueOf(kv.key.Value), elem)
	}
	v.Set(m)
}

// structure decodes a mapping into the struct v. Keys without a field are
// passed to extra, or reported as unknown.
func (d *yamlDecoder) structure(n *yaml.Node, v reflect.Value, path string, line int, extra map[string]fieldHandler) {
	if n.Kind != yaml.MappingNode {
		d.errAt(line, path, "expected a mapping, got %s", describe(n))
		d.bad[path] = true
		return
	}
	fields := yamlFields(v.Type())
	for _, kv := range d.pairs(n, path) {
		name, p := kv.key.Value, joinPath(path, kv.key.Value)
		if i, ok := fields[name]; ok {
			d.value(kv.val, v.Field(i), p, kv.key.Line)
		} else if path == "" && strings.HasPrefix(name, "x-") {
			// Extension keys at the top are ignored: a home for anchors.
		} else if h, ok := extra[name]; ok {
			d.lines[p] = kv.key.Line
			h(kv.val, p, kv.key.Line)
		} else {
			known := make([]string, 0, len(fields)+len(extra))
			for k := range fields {
				known = append(known, k)
			}
			for k := range extra {
				known = append(known, k)
			}
			if best := closest(name, known); best != "" {
				// The key meant is missing: say so once, here, and
				// not again as "required" at the top of the mapping.
				d.bad[joinPath(path, best)] = true
			}
			d.errAt(kv.key.Line, path, "unknown key %s%s", quote(name), suggest(name, sortedStrings(known)))
		}
	}
}

type yamlPair struct{ key, val *yaml.Node }

// pairs lists a mapping's entries, expanding merge keys (<<: *base); keys
// written out win over merged ones. A key written twice is an error.
func (d *yamlDecoder) pairs(n *yaml.Node, path string) []yamlPair {
	var out, merged []yamlPair
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode || isNull(k):
			d.errAt(n.Content[i].Line, path, "keys must be plain words, not %s", describe(k))
		case isMerge(k):
			merged = append(merged, d.mergeSources(v, path)...)
		case seen[k.Value] != 0:
			d.errAt(k.Line, joinPath(path, k.Value), "key given twice (first at line %d)", seen[k.Value])
		default:
			seen[k.Value] = k.Line
			out = append(out, yamlPair{k, v})
		}
	}
	for _, kv := range merged {
		if seen[kv.key.Value] == 0 {
			seen[kv.key.Value] = kv.key.Line
			out = append(out, kv)
		}
	}
	return out
}

func (d *yamlDecoder) mergeSources(v *yaml.Node, path string) []yamlPair {
	line := v.Line
	v = deref(v)
	switch v.Kind {
	case yaml.MappingNode:
		return d.pairs(v, path)
	case yaml.SequenceNode:
		var out []yamlPair
		for _, m := range v.Content {
			if mm := deref(m); mm.Kind == yaml.MappingNode {
				out = append(out, d.pairs(mm, path)...)
				continue
			}
			d.errAt(m.Line, path, "<< merges mappings only, not %s", describe(deref(m)))
		}
		return out
	}
	d.errAt(line, path, "<< merges a mapping or a list of mappings, not %s", describe(v))
	return nil
}

// yamlFields maps the yaml names of t's fields to their indexes.
func yamlFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}

// deref follows aliases (at most a few hops: an alias of an alias is rare,
// and cycles were refused before decoding).
func deref(n *yaml.Node) *yaml.Node {
	for range 64 {
		if n.Kind != yaml.AliasNode || n.Alias == nil {
			return n
		}
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func isMerge(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "<<" && n.ShortTag() == "!!merge"
}

// describe names a node's type for messages, without echoing its value.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		}
		return "a string"
	}
	return "an alias"
}

// joinPath appends a key to a path: targets + guest = targets.guest. Keys
// that are not plain words are quoted: targets["a b"].
func joinPath(path, key string) string {
	if !plainKey(key) {
		return path + "[" + quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func plainKey(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// quote quotes a value for a message, shortening long ones.
func quote(s string) string {
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// refValue is the settable value p points to.
func refValue(p any) reflect.Value { return reflect.ValueOf(p).Elem() }
