package principal_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/keygate/keygate/shared/principal"
)

// asGateway turns an authorizer context into what the integration receives:
// API Gateway (REST) hands every context value over as a string.
func asGateway(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			panic("authorizer context value is not a string")
		}
		out[k] = s
	}
	return out
}

func TestContextRoundTrip(t *testing.T) {
	used := time.Date(2026, 2, 14, 15, 30, 0, 0, time.UTC)
	tests := []struct {
		name string
		p    principal.Principal
		want map[string]any
	}{
		{
			name: "jwt principal round-trips without key fields",
			p:    principal.Principal{Sub: "user-1", Tier: principal.Pro, TeamID: "team-7", Method: principal.ViaJWT},
			want: map[string]any{"sub": "user-1", "tier": "pro", "teamId": "team-7", "authMethod": "jwt"},
		},
		{
			name: "jwt principal without team round-trips",
			p:    principal.Principal{Sub: "user-2", Tier: principal.Free, Method: principal.ViaJWT},
			want: map[string]any{"sub": "user-2", "tier": "free", "teamId": "", "authMethod": "jwt"},
		},
		{
			name: "key principal round-trips with prefix, name and limit",
			p: principal.Principal{
				Sub: "user-1", Tier: principal.Team, TeamID: "team-7", Method: principal.ViaKey,
				KeyPrefix: "csk_live_a1b2c3d4", KeyName: "CI Pipeline", DailyLimit: 1000,
			},
			want: map[string]any{
				"sub": "user-1", "tier": "team", "teamId": "team-7", "authMethod": "key",
				"keyPrefix": "csk_live_a1b2c3d4", "keyName": "CI Pipeline", "dailyLimit": "1000",
			},
		},
		{
			name: "key principal with lastUsedAt round-trips it in RFC 3339 UTC",
			p: principal.Principal{
				Sub: "user-3", Tier: principal.Enterprise, Method: principal.ViaKey,
				KeyPrefix: "csk_live_00000000", KeyName: "n", DailyLimit: 1, LastUsedAt: used,
			},
			want: map[string]any{
				"sub": "user-3", "tier": "enterprise", "teamId": "", "authMethod": "key",
				"keyPrefix": "csk_live_00000000", "keyName": "n", "dailyLimit": "1",
				"lastUsedAt": "2026-02-14T15:30:00Z",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.p.Context()
			if !reflect.DeepEqual(ctx, tt.want) {
				t.Fatalf("Context() = %#v, want %#v", ctx, tt.want)
			}
			got, err := principal.FromContext(asGateway(ctx))
			if err != nil {
				t.Fatalf("FromContext: %v", err)
			}
			if !got.LastUsedAt.Equal(tt.p.LastUsedAt) {
				t.Fatalf("LastUsedAt = %v, want %v", got.LastUsedAt, tt.p.LastUsedAt)
			}
			got.LastUsedAt, tt.p.LastUsedAt = time.Time{}, time.Time{}
			if got != tt.p {
				t.Fatalf("FromContext(Context()) = %+v, want %+v", got, tt.p)
			}
		})
	}
}

func TestFromContext(t *testing.T) {
	key := func(edit func(m map[string]any)) map[string]any {
		m := map[string]any{
			"sub": "user-1", "tier": "pro", "teamId": "", "authMethod": "key",
			"keyPrefix": "csk_live_a1b2c3d4", "keyName": "CI", "dailyLimit": "250",
		}
		edit(m)
		return m
	}
	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name string
			m    map[string]any
		}{
			{"missing sub is an error", map[string]any{"tier": "pro", "authMethod": "jwt"}},
			{"empty sub is an error", map[string]any{"sub": "", "authMethod": "jwt"}},
			{"nil context is an error", nil},
			{"missing authMethod is an error", map[string]any{"sub": "user-1", "tier": "pro"}},
			{"unknown authMethod is an error", map[string]any{"sub": "user-1", "authMethod": "basic"}},
			{"authMethod in another case is an error", map[string]any{"sub": "user-1", "authMethod": "JWT"}},
			{"key without dailyLimit is an error", key(func(m map[string]any) { delete(m, "dailyLimit") })},
			{"non-numeric dailyLimit is an error", key(func(m map[string]any) { m["dailyLimit"] = "lots" })},
			{"zero dailyLimit is an error", key(func(m map[string]any) { m["dailyLimit"] = "0" })},
			{"negative dailyLimit is an error", key(func(m map[string]any) { m["dailyLimit"] = "-5" })},
			{"fractional dailyLimit is an error", key(func(m map[string]any) { m["dailyLimit"] = "2.5" })},
			{"key without prefix is an error", key(func(m map[string]any) { delete(m, "keyPrefix") })},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p, err := principal.FromContext(tt.m)
				if err == nil {
					t.Fatalf("FromContext(%v) = %+v, want an error", tt.m, p)
				}
				if p != (principal.Principal{}) {
					t.Fatalf("FromContext returned %+v alongside its error", p)
				}
			})
		}
	})
	t.Run("unknown tier in the context reads as free", func(t *testing.T) {
		p, err := principal.FromContext(map[string]any{"sub": "u", "tier": "platinum", "authMethod": "jwt"})
		if err != nil {
			t.Fatal(err)
		}
		if p.Tier != principal.Free {
			t.Fatalf("Tier = %q, want free", p.Tier)
		}
	})
	t.Run("numeric dailyLimit (a JSON number) is read", func(t *testing.T) {
		p, err := principal.FromContext(key(func(m map[string]any) { m["dailyLimit"] = float64(1000) }))
		if err != nil {
			t.Fatal(err)
		}
		if p.DailyLimit != 1000 {
			t.Fatalf("DailyLimit = %d, want 1000", p.DailyLimit)
		}
	})
	t.Run("unparsable lastUsedAt is ignored", func(t *testing.T) {
		p, err := principal.FromContext(key(func(m map[string]any) { m["lastUsedAt"] = "yesterday" }))
		if err != nil {
			t.Fatal(err)
		}
		if !p.LastUsedAt.IsZero() {
			t.Fatalf("LastUsedAt = %v, want zero", p.LastUsedAt)
		}
	})
}

func TestParseTier(t *testing.T) {
	tests := []struct {
		in   string
		want principal.Tier
	}{
		{"free", principal.Free},
		{"pro", principal.Pro},
		{"PRO", principal.Pro},
		{"Pro", principal.Pro},
		{"team", principal.Team},
		{" Team ", principal.Team},
		{"enterprise", principal.Enterprise},
		{"ENTERPRISE", principal.Enterprise},
		{"", principal.Free},
		{"platinum", principal.Free},
		{"pro+", principal.Free},
		{"admin", principal.Free},
	}
	for _, tt := range tests {
		t.Run("tier "+tt.in+" is "+string(tt.want), func(t *testing.T) {
			if got := principal.ParseTier(tt.in); got != tt.want {
				t.Fatalf("ParseTier(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
