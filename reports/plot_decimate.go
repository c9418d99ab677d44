package reports

// Decimate thins points for plotting. It splits the run time the points
// cover into maxPoints/2 equal buckets and keeps, per bucket, the fastest
// and the slowest answer, plus every lost point, so neither a spike, nor
// the baseline, nor a loss disappears from the picture. The result is in
// the input's order and holds at most maxPoints answered points besides
// the lost ones. Points are returned as they are when there are no more
// than maxPoints of them or maxPoints is not positive.
func Decimate(points []Point, maxPoints int) []Point {
	if maxPoints <= 0 || len(points) <= maxPoints {
		return points
	}
	buckets, keepMin := maxPoints/2, true
	if buckets == 0 { // room for one point: the slowest
		buckets, keepMin = 1, false
	}
	first, last := points[0].Sent, points[0].Sent
	for _, p := range points {
		first = min(first, p.Sent)
		last = max(last, p.Sent)
	}
	span := float64(last - first)
	bucket := func(p Point) int {
		if span <= 0 {
			return 0
		}
		return min(int(float64(p.Sent-first)/span*float64(buckets)), buckets-1)
	}

	keep := make([]bool, len(points))
	cur, lo, hi := -1, -1, -1
	flush := func() {
		if hi >= 0 {
			keep[hi] = true
			keep[lo] = keep[lo] || keepMin
		}
	}
	for i, p := range points {
		if p.Lost {
			keep[i] = true
			continue
		}
		if b := bucket(p); b != cur {
			flush()
			cur, lo, hi = b, i, i
			continue
		}
		if p.RTT > points[hi].RTT {
			hi = i
		}
		if p.RTT < points[lo].RTT {
			lo = i
		}
	}
	flush()

	out := make([]Point, 0, maxPoints)
	for i, k := range keep {
		if k {
			out = append(out, points[i])
		}
	}
	return out
}
