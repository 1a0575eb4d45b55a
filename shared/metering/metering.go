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
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/lru"
	"github.com/keygate/keygate/shared/principal"
)

// Retention is how long archived day counters live (their TTL), and so how
// far back usage history reaches.
const Retention = 90 * 24 * time.Hour

// Spent is a budget after one counted request.
type Spent struct {
	Used  int
	Limit int
	// Room is what the day's counter may still take after the request.
	Room int
	// PrevDay and PrevUsed are the budget's previous counted day and its
	// count as the same write left them ("" and 0 when there is none).
	PrevDay  string
	PrevUsed int
	// Read is set when the store read the budget to decide (a refusal, a
	// new day, networks that changed): Scopes and AllowedIPs are then the
	// key's as stored.
	Read       bool
	Scopes     string
	Restricted bool // the key's scopes are limited (Scopes lists them)
	AllowedIPs string
	// LimitNoticed is the mark of the key's last recorded first 429
	// (key.limit_reached: day#record id), as the refusal read showed it.
	LimitNoticed string
}

// LimitNotifier records a key's first 429 of a UTC day (keys.LimitNotices).
type LimitNotifier interface {
	Reached(ctx context.Context, p principal.Principal, day string) error
}

// Charge is one key request for the meter: which key, what the route costs
// and needs, and where the request came from.
type Charge struct {
	Budget, Prefix string
	// Cost is what the request takes from the day's budget (>= 1).
	Cost int
	// Scope is the route's scope; "" needs none.
	Scope string
	// Restricted is whether the caller believes the key limited to some
	// scopes: the store admits the request only while that still holds
	// (and, if so, the stored scopes hold Scope).
	Restricted bool
	// From is the request's source address as API Gateway saw it.
	From netip.Addr
	// AllowedIPs are the key's networks From was checked against
	// (canonical; "" anywhere): the store admits the request only while
	// they are still the key's.
	AllowedIPs string
	At         time.Time
}

// Counter stores the budgets.
type Counter interface {
	// Spend counts one request in one conditional write. Errors:
	// keys.ErrLimitReached (with the limit and room in Spent),
	// keys.ErrRevoked, ErrExpired, ErrSuspended, ErrNotFound, ErrScope,
	// ErrNetwork (with the stored scopes or networks in Spent), or an
	// unavailable store.
	Spend(ctx context.Context, c Charge) (Spent, error)
	// Check tells, with one consistent read and no write, whether the key
	// may make a request the meter does not count (same errors but the
	// limit's).
	Check(ctx context.Context, c Charge) (Spent, error)
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
	// Notices, when set, records a key's first 429 of each UTC day: only
	// on a refusal whose read shows no record for the day, so an admitted
	// request never pays for it.
	Notices LimitNotifier
	Log     *slog.Logger

	// seenOnce/seen remember, per key prefix, the key's limits as the store
	// last showed them (they may be newer than an authorizer answer cached
	// up to its TTL), so a key whose scopes or networks changed costs one
	// extra read per process, not one per request.
	seenOnce sync.Once
	seenKeys *lru.Cache[string, limits]
}

// limits are what the meter's write checks against the caller's view.
type limits struct {
	restricted bool
	allowedIPs string
}

// seenMemory bounds the remembered limits and how long each is kept.
const (
	seenMemory    = 10_000
	seenMemoryTTL = time.Hour
)

func (m *Meter) seen() *lru.Cache[string, limits] {
	m.seenOnce.Do(func() { m.seenKeys = lru.New[string, limits](seenMemory) })
	return m.seenKeys
}

// Count charges p's key for one request on rt from the address from. It
// returns the quota after the request; with a RateLimitExceeded error when
// the limit does not hold the route's cost, an Unauthorized error when the
// key may no longer be used, a Forbidden error when the route is outside
// the key's scopes or the address outside its networks (nothing counted),
// and a ServiceUnavailable error when the store fails (fail closed: an
// unmetered request is never let through). A route the meter does not count
// (rt.Unmetered) is checked the same way with one read instead.
func (m *Meter) Count(ctx context.Context, p principal.Principal, rt route.Route, from netip.Addr) (Quota, error) {
	now := m.Clock.Now()
	q := Quota{Reset: clock.NextMidnight(now), At: now}
	c := Charge{Budget: p.Budget, Prefix: p.KeyPrefix, Cost: rt.Units(), Scope: rt.Scope, From: from, At: now,
		Restricted: p.Scopes != "" && p.Scopes != principal.AllScopes, AllowedIPs: p.AllowedIPs}
	if l, ok := m.seen().Get(p.KeyPrefix, now); ok {
		c.Restricted, c.AllowedIPs = l.restricted, l.allowedIPs
	}
	var (
		sp  Spent
		err error
	)
	if rt.Unmetered {
		sp, err = m.Counter.Check(ctx, c)
	} else {
		sp, err = m.Counter.Spend(ctx, c)
	}
	if sp.Read && (sp.AllowedIPs != c.AllowedIPs || sp.Restricted != c.Restricted) {
		m.seen().Put(p.KeyPrefix, limits{restricted: sp.Restricted, allowedIPs: sp.AllowedIPs}, now.Add(seenMemoryTTL))
	}
	switch {
	case err == nil:
		q.Limit, q.Used, q.Remaining = sp.Limit, sp.Used, max(0, sp.Room)
		q.PrevDay, q.PrevUsed = sp.PrevDay, sp.PrevUsed
		return q, nil
	case errors.Is(err, keys.ErrLimitReached):
		q.Limit, q.Used, q.Remaining = sp.Limit, sp.Used, max(0, sp.Room)
		if today := clock.Day(now); m.Notices != nil && sp.Read && !strings.HasPrefix(sp.LimitNoticed, today) {
			if err := m.Notices.Reached(ctx, p, today); err != nil && m.Log != nil {
				// The 429 stands; the notice's intent is resolved once due.
				m.Log.WarnContext(ctx, "limit notice not recorded", "keyPrefix", p.KeyPrefix, "error", err)
			}
		}
		if c.Cost > 1 && q.Remaining > 0 {
			return q, apierr.New(apierr.RateLimitExceeded,
				"This request costs %d of this key's daily limit of %d and only %d remain; it resets at %s (in %s). Raise the key's daily limit to allow more.",
				c.Cost, sp.Limit, q.Remaining, q.Reset.Format(time.RFC3339), humanDuration(q.Reset.Sub(now)))
		}
		return q, apierr.New(apierr.RateLimitExceeded,
			"This key's daily limit of %d requests is spent; it resets at %s (in %s). Raise the key's daily limit to allow more.",
			sp.Limit, q.Reset.Format(time.RFC3339), humanDuration(q.Reset.Sub(now)))
	case errors.Is(err, keys.ErrScope):
		return q, apierr.New(apierr.Forbidden,
			"This API key's scopes (%s) do not allow %s, which needs the scope %s. Give the key that scope, or use a key that has it.",
			strings.Join(keys.ScopeList(sp.Scopes), ", "), rt.Name(), rt.Scope)
	case errors.Is(err, keys.ErrNetwork):
		return q, apierr.New(apierr.Forbidden,
			"This API key may only be used from %s; this request came from %s.",
			strings.Join(keys.AllowedIPList(sp.AllowedIPs), ", "), addrText(from))
	case errors.Is(err, keys.ErrRevoked), errors.Is(err, keys.ErrExpired), errors.Is(err, keys.ErrNotFound):
		return q, apierr.New(apierr.Unauthorized, "This API key can no longer be used: it was revoked, it expired, or its rotation grace period ended.")
	case errors.Is(err, keys.ErrSuspended):
		return q, apierr.New(apierr.Unauthorized, "This API key is suspended: its owner's plan no longer includes API keys. It works again when the plan does.")
	default:
		return q, fmt.Errorf("meter key %s: %w", p.KeyPrefix, err)
	}
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return "an unknown address"
	}
	return a.Unmap().String()
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
