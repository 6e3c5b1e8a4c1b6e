// Package clock gives the server its notion of now, so that tests and QA can move time.
package clock

import (
	"sync"
	"time"
)

// Clock tells the current time. Every rule with a lifetime (codes, tokens, throttles)
// asks a Clock instead of calling time.Now, so that a test or a QA engineer can jump
// ten minutes or a month ahead without waiting.
type Clock interface {
	Now() time.Time
}

// System is the wall clock.
type System struct{}

// Now returns time.Now.
func (System) Now() time.Time { return time.Now() }

// Adjustable is a wall clock with an offset that QA can move forward, set or reset.
// It is safe for concurrent use.
type Adjustable struct {
	base   Clock
	mu     sync.RWMutex
	offset time.Duration
}

// NewAdjustable returns a clock that follows base plus an offset, initially zero.
func NewAdjustable(base Clock) *Adjustable {
	return &Adjustable{base: base}
}

// Now returns the base time plus the offset.
func (a *Adjustable) Now() time.Time {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.base.Now().Add(a.offset)
}

// Offset is how far the clock is from its base.
func (a *Adjustable) Offset() time.Duration {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.offset
}

// Advance moves the clock forward by d (or back, if d is negative).
func (a *Adjustable) Advance(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.offset += d
}

// Set makes the clock read t now and run on from there.
func (a *Adjustable) Set(t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.offset = t.Sub(a.base.Now())
}

// Reset brings the clock back to the base time.
func (a *Adjustable) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.offset = 0
}

// Fixed is a clock that stands still until told to move; tests use it.
type Fixed struct {
	mu sync.Mutex
	t  time.Time
}

// NewFixed returns a clock standing at t.
func NewFixed(t time.Time) *Fixed { return &Fixed{t: t} }

// Now returns the clock's time.
func (f *Fixed) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

// Advance moves the clock by d.
func (f *Fixed) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}
