package requeststate

import "context"

// sweepBatch is how many used ids one statement of a sweep deletes.
const sweepBatch = 1000

// Sweep deletes from the store what can no longer matter, and returns how
// many rows it deleted: the ids of used states that have expired, and the
// ring's keys whose every state has expired (none with WithKeys), each a
// clock skew (a minute) after that, so that a replica whose clock is
// behind still finds them. It deletes the ids in batches, each its own
// statement walking the expiry index, so that no statement holds locks
// for long. Package janitor runs it (janitor.WithSweeper); running it on
// several replicas at once is safe.
//
// If ctx ends or a batch fails, Sweep returns the rows deleted so far with
// the error; they stay deleted.
func (s *Sealer) Sweep(ctx context.Context) (int64, error) {
	cutoff := s.now().Add(-clockSkew).UnixMilli()
	var total int64
	for {
		n, err := s.x.Exec(ctx, "requeststate: sweep used states", s.q.TrimUsed, cutoff, sweepBatch)
		total += n
		if err != nil {
			return total, err
		}
		if n < sweepBatch {
			break
		}
	}
	if s.ring == nil {
		return total, nil
	}
	n, err := s.x.Exec(ctx, "requeststate: sweep keys", s.q.TrimKeys, cutoff)
	return total + n, err
}
