// Package metering enforces each key's daily request limit and reports usage.
// A counter item per key per UTC day is incremented by one conditional update
// that refuses to go past the limit, so the limit is exact under any
// concurrency. The Meter runs in the functions (see lambdahttp), because an
// API Gateway authorizer cannot answer 429.
package metering

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/principal"
)

// Retention is how long counter items live (their TTL), and so how far back
// usage history reaches.
const Retention = 90 * 24 * time.Hour

// LastUsedResolution is how stale a key's lastUsedAt may get.
const LastUsedResolution = time.Minute

// Counter stores the daily counters.
type Counter interface {
	// Increment counts one request on day while the count is below limit and
	// returns the new count, or keys.ErrLimitReached.
	Increment(ctx context.Context, prefix, day string, limit int, expiresAt time.Time) (int, error)
	// TouchLastUsed moves the key's lastUsedAt to now if older than staleBefore.
	TouchLastUsed(ctx context.Context, prefix string, now, staleBefore time.Time) error
	// History returns the counts of the days from..to inclusive.
	History(ctx context.Context, prefix, from, to string) (map[string]int, error)
}

// Quota is the state of a key's daily budget after a request.
type Quota struct {
	Limit     int
	Used      int
	Remaining int
	Reset     time.Time // the next UTC midnight
	At        time.Time // when the request was counted
}

// Meter counts key-authenticated requests.
type Meter struct {
	Counter Counter
	Clock   clock.Clock
	Log     *slog.Logger

	// lastTouch remembers, per prefix, when this process last wrote
	// lastUsedAt, so concurrent requests that all carry a stale value from
	// the authorizer write it once, not once each.
	lastTouch sync.Map // prefix -> time.Time
}

// Count charges one request to p's key. It returns the quota after the
// request; with a RateLimitExceeded error when the limit is spent, and a
// ServiceUnavailable error when the store fails (fail closed: an unmetered
// request is never let through).
func (m *Meter) Count(ctx context.Context, p principal.Principal) (Quota, error) {
	now := m.Clock.Now()
	q := Quota{Limit: p.DailyLimit, Reset: clock.NextMidnight(now), At: now}
	used, err := m.Counter.Increment(ctx, p.KeyPrefix, clock.Day(now), p.DailyLimit, now.Add(Retention))
	if errors.Is(err, keys.ErrLimitReached) {
		q.Used = p.DailyLimit
		wait := q.Reset.Sub(now).Round(time.Minute)
		return q, apierr.New(apierr.RateLimitExceeded,
			"This key's daily limit of %d requests is spent; it resets at %s (in %s). Raise the key's dailyLimit to allow more.",
			p.DailyLimit, q.Reset.Format(time.RFC3339), wait)
	}
	if err != nil {
		return q, fmt.Errorf("meter key %s: %w", p.KeyPrefix, err)
	}
	q.Used = used
	q.Remaining = max(0, p.DailyLimit-used)
	m.touch(ctx, p, now)
	return q, nil
}

func (m *Meter) touch(ctx context.Context, p principal.Principal, now time.Time) {
	stale := now.Add(-LastUsedResolution)
	if p.LastUsedAt.After(stale) {
		return
	}
	if prev, ok := m.lastTouch.Load(p.KeyPrefix); ok {
		if prev.(time.Time).After(stale) {
			return
		}
		if !m.lastTouch.CompareAndSwap(p.KeyPrefix, prev, now) {
			return // another request of this process is writing it
		}
	} else if _, loaded := m.lastTouch.LoadOrStore(p.KeyPrefix, now); loaded {
		return
	}
	if err := m.Counter.TouchLastUsed(ctx, p.KeyPrefix, now, stale); err != nil {
		// lastUsedAt is informational; the request was metered, so it goes on.
		m.lastTouch.Delete(p.KeyPrefix)
		m.log().WarnContext(ctx, "update lastUsedAt failed", "keyPrefix", p.KeyPrefix, "error", err)
	}
}

func (m *Meter) log() *slog.Logger {
	if m.Log == nil {
		return slog.Default()
	}
	return m.Log
}
