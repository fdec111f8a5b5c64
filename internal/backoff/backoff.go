// Package backoff is the one retry delay of Hearth: exponential growth to a
// cap, with full jitter, and a floor so that a retry loop never spins.
//
// It is pure: a loop counts its own failures and asks Delay for the wait,
// then waits on its own clock (device/clock, so tests drive it with the
// fake), or time.After in a command. Full jitter (a uniform draw between
// the floor and the ceiling, not the ceiling itself) keeps a fleet of
// devices that lost the same broker, or the same photo server, from coming
// back in step: see "Exponential Backoff And Jitter",
// https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/.
package backoff

import (
	"math/rand/v2"
	"time"
)

// MinDelay is the floor of a Policy that sets none: even the first retry
// after a failure waits this long.
const MinDelay = 100 * time.Millisecond

// Policy says how long to wait after a failure.
type Policy struct {
	// Base is the ceiling of the first delay; each further failure
	// doubles it, up to Cap.
	Base time.Duration
	// Cap is the largest ceiling. Zero means Base (no growth).
	Cap time.Duration
	// Floor is the least delay; zero is MinDelay. A Floor above the
	// ceiling makes the delay exactly Floor.
	Floor time.Duration
}

// Ceiling is the longest delay after the failure numbered attempt (0 for
// the first failure in a row): min(Cap, Base·2^attempt), and never below
// the floor.
func (p Policy) Ceiling(attempt int) time.Duration {
	limit := max(p.Cap, p.Base)
	c := limit
	if attempt < 0 {
		attempt = 0
	}
	// Base<<attempt, without overflowing.
	if attempt < 62 && p.Base <= limit>>attempt {
		c = p.Base << attempt
	}
	return max(c, p.floor())
}

// Delay is the wait after the failure numbered attempt (0 for the first
// failure in a row): uniformly random between the floor and Ceiling.
func (p Policy) Delay(attempt int) time.Duration {
	lo, hi := p.floor(), p.Ceiling(attempt)
	if hi <= lo {
		return lo
	}
	return lo + rand.N(hi-lo+1)
}

func (p Policy) floor() time.Duration {
	if p.Floor > 0 {
		return p.Floor
	}
	return MinDelay
}
