package reports

// Decimate thins points for plotting. It splits the run time the points
// cover into maxPoints equal buckets and keeps, per bucket, the answered
// point with the largest RTT, plus every lost point, so neither a spike nor
// a loss disappears from the picture. The result is in the input's order and
// may hold more than maxPoints points when many were lost. Points are
// returned as they are when there are no more than maxPoints of them or
// maxPoints is not positive.
func Decimate(points []Point, maxPoints int) []Point {
	if maxPoints <= 0 || len(points) <= maxPoints {
		return points
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
		return min(int(float64(p.Sent-first)/span*float64(maxPoints)), maxPoints-1)
	}

	keep := make([]bool, len(points))
	cur, best := -1, -1
	for i, p := range points {
		if p.Lost {
			keep[i] = true
			continue
		}
		if b := bucket(p); b != cur {
			if best >= 0 {
				keep[best] = true
			}
			cur, best = b, i
		} else if p.RTT > points[best].RTT {
			best = i
		}
	}
	if best >= 0 {
		keep[best] = true
	}

	out := make([]Point, 0, maxPoints)
	for i, k := range keep {
		if k {
			out = append(out, points[i])
		}
	}
	return out
}
