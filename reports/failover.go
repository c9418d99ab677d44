package reports

import "time"

// A target with a failover_address (a Hyper-V Replica failover brings the
// guest back at a new IP) is probed at both addresses. The guest is
// unreachable only while neither address answers, so the primary's gaps
// are cut down to the times the failover address was not answering
// either, and the failover address's own result is kept beside it for the
// record (Evaluate skips it).

// firstGood is the send time of the first good attempt, and the time of
// the first answer (an earlier request may be answered later: the network
// can hold it, e.g. while ARP resolves the new address); −1 for none.
func firstGood(pm *ProbeMeta, v view) (sent, answered time.Duration) {
	sent, answered = -1, -1
	for i := 0; i < v.len(); i++ {
		s := v.at(i)
		if !good(pm, s) {
			continue
		}
		if sent < 0 {
			sent = s.Sent
		}
		if at := s.Sent + s.RTT; answered < 0 || at < answered {
			answered = at
		}
	}
	return sent, answered
}

// span is a closed interval of run time; an end of forever is open.
type span struct{ from, to time.Duration }

const forever = time.Duration(1<<63 - 1)

// mergeFailover folds each failover-address result into its primary's.
func mergeFailover(results []ProbeResult) {
	for i := range results {
		f := &results[i]
		if f.FailoverFor == "" {
			continue
		}
		for j := range results {
			p := &results[j]
			if p.FailoverFor != "" || p.Name != f.Name || p.Address != f.FailoverFor {
				continue
			}
			p.FailoverAddress = f.Address
			p.FailoverFirstAnswer = f.FailoverFirstAnswer
			p.Gaps = intersectGaps(p.Gaps, downSpans(f), p.Points)
			p.MaxGap, p.Lost = 0, 0
			for _, g := range p.Gaps {
				p.MaxGap = max(p.MaxGap, g.Duration())
				p.Lost += g.Lost
			}
		}
	}
}

// downSpans are the times the failover address did not answer: until its
// first answer arrived, and in each of its own gaps. The first span ends
// with the answer, not with the send of the request answered: a request to
// an address that is not up yet can wait in the network (ARP holds it) and
// be answered the moment the address appears, and the guest was not
// reachable while it waited.
func downSpans(f *ProbeResult) []span {
	if f.firstGoodSent < 0 {
		return []span{{-forever, forever}}
	}
	down := []span{{-forever, f.FailoverFirstAnswer}}
	for _, g := range f.Gaps {
		if g.End <= f.firstGoodSent {
			continue // the wait for the first answer, already covered
		}
		end := g.End
		if g.Open && g.End >= lastSent(f) {
			end = forever
		}
		down = append(down, span{g.Start, end})
	}
	return down
}

func lastSent(r *ProbeResult) time.Duration {
	if n := len(r.Points); n > 0 {
		return r.Points[n-1].Sent
	}
	return 0
}

// intersectGaps keeps the parts of the primary's gaps that fall in a down
// span of the failover address. A cut gap keeps the primary's bound, the
// larger of the two edges' resolution in practice, and counts the
// primary's lost attempts inside it.
func intersectGaps(gaps []Gap, down []span, pts []Point) []Gap {
	var out []Gap
	for _, g := range gaps {
		for _, d := range down {
			from, to := max(g.Start, d.from), min(g.End, d.to)
			if from >= to {
				continue
			}
			c := g
			c.Start, c.End, c.Began = from, to, max(g.Began, from)
			c.Open = g.Open && to == g.End
			c.Lost = 0
			for _, p := range pts {
				if p.Lost && p.Sent >= from && p.Sent <= to {
					c.Lost++
				}
			}
			out = append(out, c)
		}
	}
	return out
}
