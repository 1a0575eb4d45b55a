// Package metering enforces each key's daily request limit and reports usage.
// A key draws on a budget (shared with its rotation successor) whose item
// holds the stored limit, today's counter and the validity of each live key;
// one conditional update counts a request only while all of them allow it,
// so the limit is exact under any concurrency and a revocation, expiry,
// suspension or lowered limit holds on the very next request, whatever any
// cache in front of the meter said. The Meter runs in the functions (see
// lambdahttp), because an API Gateway authorizer cannot answer 429.
package metering

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/principal"
)

// Retention is how long archived day counters live (their TTL), and so how
// far back usage history reaches.
const Retention = 90 * 24 * time.Hour

// Spent is a budget after one counted request.
type Spent struct {
	Used  int
	Limit int
	// PrevDay and PrevUsed are the budget's previous counted day and its
	// count as the same write left them ("" and 0 when there is none).
	PrevDay  string
	PrevUsed int
}

// Counter stores the budgets.
type Counter interface {
	// Spend counts one request of key prefix on budget at now. Errors:
	// keys.ErrLimitReached (with the limit in Spent), keys.ErrRevoked,
	// ErrExpired, ErrSuspended, ErrNotFound, or an unavailable store.
	Spend(ctx context.Context, budget, prefix string, now time.Time) (Spent, error)
	// History returns a budget's archived counts of the days from..to.
	History(ctx context.Context, budget, from, to string) (map[string]int, error)
}

// Quota is the state of a key's daily budget after a request.
type Quota struct {
	Limit     int
	Used      int
	Remaining int
	Reset     time.Time // the next UTC midnight
	At        time.Time // when the request was counted
	// The budget's previous counted day, from the same write (see Spent).
	PrevDay  string
	PrevUsed int
}

// Meter counts key-authenticated requests.
type Meter struct {
	Counter Counter
	Clock   clock.Clock
}

// Count charges one request to p's key. It returns the quota after the
// request; with a RateLimitExceeded error when the limit is spent, an
// Unauthorized error when the key may no longer be used, and a
// ServiceUnavailable error when the store fails (fail closed: an unmetered
// request is never let through).
func (m *Meter) Count(ctx context.Context, p principal.Principal) (Quota, error) {
	now := m.Clock.Now()
	q := Quota{Reset: clock.NextMidnight(now), At: now}
	sp, err := m.Counter.Spend(ctx, p.Budget, p.KeyPrefix, now)
	switch {
	case err == nil:
		q.Limit, q.Used, q.Remaining = sp.Limit, sp.Used, max(0, sp.Limit-sp.Used)
		q.PrevDay, q.PrevUsed = sp.PrevDay, sp.PrevUsed
		return q, nil
	case errors.Is(err, keys.ErrLimitReached):
		q.Limit, q.Used = sp.Limit, sp.Limit
		return q, apierr.New(apierr.RateLimitExceeded,
			"This key's daily limit of %d requests is spent; it resets at %s (in %s). Raise the key's daily limit to allow more.",
			sp.Limit, q.Reset.Format(time.RFC3339), humanDuration(q.Reset.Sub(now)))
	case errors.Is(err, keys.ErrRevoked), errors.Is(err, keys.ErrExpired), errors.Is(err, keys.ErrNotFound):
		return q, apierr.New(apierr.Unauthorized, "This API key can no longer be used: it was revoked, it expired, or its rotation grace period ended.")
	case errors.Is(err, keys.ErrSuspended):
		return q, apierr.New(apierr.Unauthorized, "This API key is suspended: its owner's plan no longer includes API keys. It works again when the plan does.")
	default:
		return q, fmt.Errorf("meter key %s: %w", p.KeyPrefix, err)
	}
}

// humanDuration says a wait the way a person would: "4 h 48 min", "12 min",
// "less than a minute".
func humanDuration(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	switch {
	case m < 1:
		return "less than a minute"
	case m < 60:
		return fmt.Sprintf("%d min", m)
	case m%60 == 0:
		return fmt.Sprintf("%d h", m/60)
	default:
		return fmt.Sprintf("%d h %d min", m/60, m%60)
	}
}
