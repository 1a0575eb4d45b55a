package principal_test

import (
	"testing"

	"github.com/keygate/keygate/shared/principal"
)

// contextKeys are the authorizer context's keys, in the order of the fuzz
// arguments; bit i of present puts key i in the context.
var contextKeys = [...]string{
	"sub", "tier", "teamId", "authMethod", "exp", "keyPrefix", "keyId", "keyName", "dailyLimit", "budget", "ownerKind", "workspaceId", "createdBy",
}

// FuzzFromContext decodes arbitrary authorizer contexts (every value a string,
// as API Gateway hands them over). Invariants: no panic; a refusal returns
// the zero principal; an accepted context is a JWT principal with a sub and no
// key fields, or a key principal with a prefix, a budget and an owner (a sub,
// or a workspace), with a known tier and a positive exp if any; and the
// decoding is stable: the principal's own context decodes to the same
// principal.
func FuzzFromContext(f *testing.F) {
	f.Add(uint16(0x000f), "user-1", "pro", "team-7", "jwt", "", "", "", "", "", "", "", "", "")
	f.Add(uint16(0x001f), "user-1", "pro", "team-7", "jwt", "1795611600", "", "", "", "", "", "", "", "")
	f.Add(uint16(0x1fff), "user-1", "PRO", "", "key", "", "csk_live_a1b2c3d4", "550e8400-e29b-41d4-a716-446655440000", "CI", "1000", "b1", "user", "", "user-1")
	f.Add(uint16(0x1fff), "", "team", "ws-1", "key", "", "csk_live_a1b2c3d4", "id", "CI", "+05", "b1", "workspace", "ws-1", "user-1")
	f.Add(uint16(0x1fff), "", "team", "ws-1", "key", "", "csk_live_a1b2c3d4", "id", "CI", "5", "b1", "workspace", "", "user-1")
	f.Add(uint16(0x1fdf), "u", "pro", "", "key", "", "csk_live_a1b2c3d4", "id", "n", "5", "", "user", "", "")
	f.Add(uint16(0x000f), "u", "pro", "", "JWT", "", "", "", "", "", "", "", "", "")
	f.Add(uint16(0x001f), "u", "pro", "", "jwt", "-1", "", "", "", "", "", "", "", "")
	f.Add(uint16(0x1fff), "u", "team", "", "jwt", "05", "csk_live_a1b2c3d4", "id", "n", "5", "b", "workspace", "w", "c")
	f.Fuzz(func(t *testing.T, present uint16, sub, tier, teamID, method, exp, prefix, keyID, name, limit, budget, ownerKind, workspaceID, createdBy string) {
		vals := [...]string{sub, tier, teamID, method, exp, prefix, keyID, name, limit, budget, ownerKind, workspaceID, createdBy}
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
		if !p.Exp.IsZero() && p.Exp.Unix() <= 0 {
			t.Fatalf("FromContext(%v): exp %v", ctx, p.Exp)
		}
		switch p.Method {
		case principal.ViaJWT:
			k := p
			k.Sub, k.Tier, k.TeamID, k.Method, k.Exp = "", "", "", "", p.Exp
			if p.Sub == "" || k != (principal.Principal{Exp: p.Exp}) {
				t.Fatalf("FromContext(%v): JWT principal %+v", ctx, p)
			}
		case principal.ViaKey:
			if p.KeyPrefix == "" || p.Budget == "" || p.DailyLimit < 0 || (p.Sub == "" && p.WorkspaceID == "") {
				t.Fatalf("FromContext(%v): key principal %+v", ctx, p)
			}
		default:
			t.Fatalf("FromContext(%v): method %q", ctx, p.Method)
		}
		q, err := principal.FromContext(asGateway(p.Context()))
		if err != nil {
			t.Fatalf("FromContext(%v) = %+v, whose own context does not decode: %v", ctx, p, err)
		}
		if q != p {
			t.Fatalf("FromContext(%v) = %+v; its context decodes to %+v", ctx, p, q)
		}
	})
}
