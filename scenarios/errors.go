package scenarios

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem found in a scenario file.
type Error struct {
	File string // the scenario file, as given to Load or Parse
	Line int    // 1-based; 0 for problems with the file as a whole
	Path string // the key in question, e.g. probes[1].interval; may be empty
	Msg  string // what is wrong
}

// Error formats the problem as "file:line: path: msg", leaving out the line
// when it is 0 and the path when it is empty.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a scenario file, in line order.
type Errors []*Error

// Error joins the problems, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// maxErrors caps the list, so a file with a 10000-line mistake stays readable.
const maxErrors = 50

// sorted returns the problems in line order (stable, so problems on one
// line keep the order they were found in), without exact repeats, and capped.
func (es Errors) sorted() Errors {
	out := slices.Clone(es)
	slices.SortStableFunc(out, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	out = slices.CompactFunc(out, func(a, b *Error) bool { return *a == *b })
	if len(out) > maxErrors {
		last := out[maxErrors-1]
		more := len(out) - maxErrors + 1
		out = append(out[:maxErrors-1:maxErrors-1], &Error{
			File: last.File, Line: last.Line,
			Msg: fmt.Sprintf("... and %d more problems", more),
		})
	}
	return out
}

// suggest returns " (did you mean X?)" when one of known is a likely
// misspelling of got, and "" otherwise.
func suggest(got string, known []string) string {
	if best := closest(got, known); best != "" {
		return " (did you mean " + best + "?)"
	}
	return ""
}

// closest returns the one of known that got is likely a misspelling of,
// or "".
func closest(got string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		d := editDistance(strings.ToLower(got), k)
		if d < bestDist && d < len(k) {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and adjacent transpositions each cost 1.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30 // not a typo of a short key; keep the cost bounded
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
