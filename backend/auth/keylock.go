package auth

import (
	"context"
	"sync"
)

// keyLocks lets one holder per key through at a time. Password checks of one account take
// turns: a throttle is read before the (slow) hash and written after it, so parallel
// attempts would otherwise all read "not blocked" and get a guess each.
type keyLocks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	turn chan struct{} // holds a token while someone has the key
	refs int           // holders and waiters; the entry goes when it drops to zero
}

// lock waits for key, or for ctx to end. The returned func releases it.
func (k *keyLocks) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyLock{turn: make(chan struct{}, 1)}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()

	done := func() {
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
	select {
	case l.turn <- struct{}{}:
		return func() { <-l.turn; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}
