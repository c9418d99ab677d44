package probes

// inFlight is an attempt kept in a seqRing until it has resolved.
type inFlight interface{ isPending() bool }

// seqRing holds a probe's attempts by Seq: attempt s is
// ring[s&(len(ring)-1)] while head <= s < next. Attempts are added in Seq
// order and leave from the head once resolved; the ring doubles when full,
// so it holds about timeout/interval attempts and never loses one.
type seqRing[T inFlight] struct {
	next uint64 // Seq of the next attempt
	head uint64 // Seq of the oldest attempt still held
	ring []T    // length a power of two
}

// push records v as the next attempt and returns its Seq, dropping
// resolved attempts from the head first and growing the ring when full.
func (r *seqRing[T]) push(v T) uint64 {
	mask := uint64(len(r.ring) - 1)
	for r.head < r.next && !r.ring[r.head&mask].isPending() {
		r.head++
	}
	if r.next-r.head == uint64(len(r.ring)) {
		grown := make([]T, 2*len(r.ring))
		gmask := uint64(len(grown) - 1)
		for s := r.head; s < r.next; s++ {
			grown[s&gmask] = r.ring[s&mask]
		}
		r.ring, mask = grown, gmask
	}
	seq := r.next
	r.ring[seq&mask] = v
	r.next++
	return seq
}

// at is the slot of attempt seq; seq must lie in [head, next).
func (r *seqRing[T]) at(seq uint64) *T { return &r.ring[seq&uint64(len(r.ring)-1)] }
