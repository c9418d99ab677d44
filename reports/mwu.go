package reports

import (
	"math"
	"slices"
)

// Why Mann–Whitney U for compare: repeated migrations give a handful of
// samples per side (5 is typical), their gaps are not normally distributed
// (mostly alike, with the odd outlier when a migration needs an extra
// round), and a t-test would be swayed by that one outlier. The U test
// compares ranks only: it assumes no distribution, an outlier counts as
// "the largest" and no more, and with the exact distribution it is valid
// at n = 5.

// exactLimit is the largest sample per side for which MannWhitneyU
// computes the exact distribution.
const exactLimit = 20

// MannWhitneyU tests whether x and y come from the same distribution
// against a shift either way (two-sided). u is the U statistic of x: the
// number of pairs (xi, yj) with xi > yj, ties counting one half.
//
// With both samples of at most 20 values the p-value is exact: the
// permutation distribution of x's rank sum over every way of choosing
// len(x) of the pooled ranks, midranks for ties included (so it is exact
// with ties too, where R's wilcox.test falls back to the normal
// approximation). Otherwise it is the normal approximation with the tie
// correction of the variance and a continuity correction, as R's
// wilcox.test(correct = TRUE). p is 2 × the smaller tail, at most 1; it is
// NaN when either sample is empty.
func MannWhitneyU(x, y []float64) (u, p float64, exact bool) {
	m, n := len(x), len(y)
	if m == 0 || n == 0 {
		return math.NaN(), math.NaN(), false
	}
	ranks2, ties := midranks2(x, y) // doubled, so ties stay integers
	r2 := 0                         // twice x's rank sum
	for _, r := range ranks2[:m] {
		r2 += r
	}
	u = float64(r2)/2 - float64(m*(m+1))/2
	if m <= exactLimit && n <= exactLimit {
		lower, upper := rankSumTails(ranks2, m, r2)
		return u, min(1, 2*min(lower, upper)), true
	}
	N := float64(m + n)
	mean := float64(m*n) / 2
	tie := 0.0
	for _, t := range ties {
		tie += float64(t*t*t - t)
	}
	sd := math.Sqrt(float64(m*n) / 12 * ((N + 1) - tie/(N*(N-1))))
	if sd == 0 { // every value the same: nothing tells the samples apart
		return u, 1, false
	}
	d := u - mean
	d -= math.Copysign(math.Min(0.5, math.Abs(d)), d) // continuity correction
	z := d / sd
	return u, min(1, math.Erfc(math.Abs(z)/math.Sqrt2)), false
}

// midranks2 returns twice the midrank of every value of x then y in the
// pooled sample, and the sizes of the groups of tied values.
func midranks2(x, y []float64) (ranks2 []int, ties []int) {
	type item struct {
		v float64
		i int
	}
	all := make([]item, 0, len(x)+len(y))
	for i, v := range x {
		all = append(all, item{v, i})
	}
	for i, v := range y {
		all = append(all, item{v, len(x) + i})
	}
	slices.SortStableFunc(all, func(a, b item) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	ranks2 = make([]int, len(all))
	for lo := 0; lo < len(all); {
		hi := lo + 1
		for hi < len(all) && all[hi].v == all[lo].v {
			hi++
		}
		// Ranks lo+1 .. hi: their mean, doubled, is lo+1+hi.
		for k := lo; k < hi; k++ {
			ranks2[all[k].i] = lo + 1 + hi
		}
		if hi-lo > 1 {
			ties = append(ties, hi-lo)
		}
		lo = hi
	}
	return ranks2, ties
}

// rankSumTails returns P(S ≤ s) and P(S ≥ s), where S is the sum of m of
// the (doubled) ranks chosen at random: the number of m-subsets with each
// sum, by dynamic programming over the ranks, divided by C(N, m).
func rankSumTails(ranks2 []int, m, s int) (lower, upper float64) {
	total := 0
	for _, r := range ranks2 {
		total += r
	}
	// count[k][t]: subsets of k of the ranks seen so far that sum to t.
	// Counts reach C(40, 20) ≈ 1.4e11, exact in a float64.
	count := make([][]float64, m+1)
	for k := range count {
		count[k] = make([]float64, total+1)
	}
	count[0][0] = 1
	for i, r := range ranks2 {
		for k := min(i+1, m); k >= 1; k-- {
			for t := total; t >= r; t-- {
				count[k][t] += count[k-1][t-r]
			}
		}
	}
	var all float64
	for t, c := range count[m] {
		all += c
		if t <= s {
			lower += c
		}
		if t >= s {
			upper += c
		}
	}
	return lower / all, upper / all
}

// minTwoSidedP is the smallest p-value the exact test can give for
// samples of m and n values: when one side holds all the smallest values.
// Below 0.05 only from 4 values per side on (4 and 4 give 0.029).
func minTwoSidedP(m, n int) float64 {
	if m == 0 || n == 0 {
		return 1
	}
	// 2 / C(m+n, m)
	c := 1.0
	for i := 1; i <= m; i++ {
		c = c * float64(n+i) / float64(i)
	}
	return min(1, 2/c)
}
