package reports

import (
	"math"
	"math/rand/v2"
	"testing"
)

// bruteP is the exact two-sided p-value by enumerating every way of
// choosing len(x) of the pooled values as "x", with midranks: the
// definition, independent of the dynamic programming.
func bruteP(x, y []float64) float64 {
	pool := append(append([]float64{}, x...), y...)
	N, m := len(pool), len(x)
	rank := make([]float64, N)
	for i, v := range pool {
		less, same := 0, 0
		for _, w := range pool {
			if w < v {
				less++
			} else if w == v {
				same++
			}
		}
		rank[i] = float64(less) + float64(same+1)/2
	}
	var obs float64
	for i := range m {
		obs += rank[i]
	}
	var lo, hi, all float64
	for mask := 0; mask < 1<<N; mask++ {
		if popcount(mask) != m {
			continue
		}
		var s float64
		for i := range N {
			if mask&(1<<i) != 0 {
				s += rank[i]
			}
		}
		all++
		if s <= obs+1e-9 {
			lo++
		}
		if s >= obs-1e-9 {
			hi++
		}
	}
	return math.Min(1, 2*math.Min(lo, hi)/all)
}

func popcount(v int) int {
	n := 0
	for ; v != 0; v &= v - 1 {
		n++
	}
	return n
}

func TestMannWhitneyUKnownValues(t *testing.T) {
	seq := func(from, to float64) []float64 {
		var s []float64
		for v := from; v <= to; v++ {
			s = append(s, v)
		}
		return s
	}
	tests := []struct {
		name  string
		x, y  []float64
		u, p  float64
		tol   float64
		exact bool
	}{
		// R: wilcox.test(x, y, alternative = "greater") gives W = 35,
		// p-value = 0.1272 (the example of ?wilcox.test); two-sided is
		// twice that: P(W >= 35) = 382/3003 by enumeration.
		{"R's wilcox.test example",
			[]float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46},
			[]float64{1.15, 0.88, 0.90, 0.74, 1.21}, 35, 2 * 382.0 / 3003, 1e-12, true},
		// Complete separation: only 2 of the C(6,3) = 20 splits are as extreme.
		{"3 vs 3 separated", seq(1, 3), seq(4, 6), 0, 2.0 / 20, 1e-12, true},
		{"5 vs 5 separated", seq(6, 10), seq(1, 5), 25, 2.0 / 252, 1e-12, true},
		// Identical samples: U = mn/2, the centre; p = 1.
		{"identical", []float64{1, 2, 3}, []float64{1, 2, 3}, 4.5, 1, 1e-12, true},
		{"all tied", []float64{7, 7, 7}, []float64{7, 7}, 3, 1, 1e-12, true},
		// 21 zeros against 21 ones, by hand: N = 42, U = 0, mean 220.5,
		// ties 2 × (21³ − 21) = 18480, var = 441/12 × (43 − 18480/1722)
		// = 1185.86, z = (0 − 220.5 + 0.5) / 34.4363 = −6.3886.
		{"normal approximation with ties", make([]float64, 21), ones(21), 0,
			math.Erfc(220 / math.Sqrt(441.0/12*(43-18480.0/1722)) / math.Sqrt2), 1e-15, false},
		{"normal approximation, all tied", ones(25), ones(21), 25 * 21 / 2.0, 1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, p, exact := MannWhitneyU(tt.x, tt.y)
			if u != tt.u || math.Abs(p-tt.p) > tt.tol || exact != tt.exact {
				t.Errorf("MannWhitneyU = U %v, p %.6g, exact %v; want U %v, p %.6g, exact %v", u, p, exact, tt.u, tt.p, tt.exact)
			}
		})
	}
	if math.Abs(2*382.0/3003-0.2544) > 5e-4 {
		t.Error("the R example's p-value is not R's 2 × 0.1272")
	}
}

func ones(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// TestMannWhitneyUExactAgainstEnumeration checks the exact p-value,
// ties included, against brute-force enumeration on random samples.
func TestMannWhitneyUExactAgainstEnumeration(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		m, n := 1+rng.IntN(7), 1+rng.IntN(7)
		x, y := make([]float64, m), make([]float64, n)
		for i := range x {
			x[i] = float64(rng.IntN(6)) // small range: many ties
		}
		for i := range y {
			y[i] = float64(rng.IntN(6) + rng.IntN(3))
		}
		_, p, exact := MannWhitneyU(x, y)
		if want := bruteP(x, y); !exact || math.Abs(p-want) > 1e-12 {
			t.Fatalf("x %v y %v: p %v (exact %v), enumeration %v", x, y, p, exact, want)
		}
		u1, p1, _ := MannWhitneyU(x, y)
		u2, p2, _ := MannWhitneyU(y, x)
		if u1+u2 != float64(m*n) || math.Abs(p1-p2) > 1e-12 {
			t.Fatalf("not symmetric: U %v + %v != %d, p %v vs %v", u1, u2, m*n, p1, p2)
		}
	}
}

// TestMannWhitneyUApproximation checks that the normal approximation,
// used above 20 values per side, is close to the exact distribution there.
func TestMannWhitneyUApproximation(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		x, y := make([]float64, 21), make([]float64, 22)
		shift := rng.Float64() * 1.5
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		for i := range y {
			y[i] = rng.NormFloat64() + shift
		}
		_, p, exact := MannWhitneyU(x, y)
		ranks2, _ := midranks2(x, y)
		s := 0
		for _, r := range ranks2[:len(x)] {
			s += r
		}
		lo, hi := rankSumTails(ranks2, len(x), s)
		want := math.Min(1, 2*math.Min(lo, hi))
		if exact || math.Abs(p-want) > 0.01 {
			t.Errorf("approximation p %.4f (exact %v), exact distribution %.4f", p, exact, want)
		}
	}
}

func TestMannWhitneyUEmpty(t *testing.T) {
	if u, p, _ := MannWhitneyU(nil, []float64{1}); !math.IsNaN(u) || !math.IsNaN(p) {
		t.Errorf("empty x: U %v p %v", u, p)
	}
}

func TestMinTwoSidedP(t *testing.T) {
	for _, tt := range []struct {
		m, n int
		want float64
	}{{1, 1, 1}, {3, 3, 0.1}, {4, 4, 2.0 / 70}, {5, 5, 2.0 / 252}, {2, 10, 2.0 / 66}, {0, 5, 1}} {
		if got := minTwoSidedP(tt.m, tt.n); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("minTwoSidedP(%d, %d) = %v, want %v", tt.m, tt.n, got, tt.want)
		}
	}
}
