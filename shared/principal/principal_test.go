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
	exp := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		p    principal.Principal
		want map[string]any
	}{
		{
			name: "jwt principal round-trips with its expiry and without key fields",
			p:    principal.Principal{Sub: "user-1", Tier: principal.Pro, TeamID: "team-7", Method: principal.ViaJWT, Exp: exp},
			want: map[string]any{"sub": "user-1", "tier": "pro", "teamId": "team-7", "authMethod": "jwt", "exp": "1795611600"},
		},
		{
			name: "jwt principal without team round-trips",
			p:    principal.Principal{Sub: "user-2", Tier: principal.Free, Method: principal.ViaJWT},
			want: map[string]any{"sub": "user-2", "tier": "free", "teamId": "", "authMethod": "jwt"},
		},
		{
			name: "personal key principal round-trips with prefix, id, name, budget and limit",
			p: principal.Principal{
				Sub: "user-1", Tier: principal.Team, TeamID: "team-7", Method: principal.ViaKey,
				KeyPrefix: "csk_live_a1b2c3d4", KeyID: "550e8400-e29b-41d4-a716-446655440000", KeyName: "CI Pipeline",
				Budget: "b-1", CreatedBy: "user-1", DailyLimit: 1000, Scopes: principal.AllScopes,
			},
			want: map[string]any{
				"sub": "user-1", "tier": "team", "teamId": "team-7", "authMethod": "key",
				"keyPrefix": "csk_live_a1b2c3d4", "keyId": "550e8400-e29b-41d4-a716-446655440000", "keyName": "CI Pipeline",
				"dailyLimit": "1000", "budget": "b-1", "createdBy": "user-1", "ownerKind": "user", "scopes": "*",
			},
		},
		{
			name: "workspace key principal says so and carries the workspace and creator",
			p: principal.Principal{
				Tier: principal.Enterprise, TeamID: "ws-1", Method: principal.ViaKey, WorkspaceID: "ws-1",
				KeyPrefix: "csk_live_00000000", KeyID: "k", KeyName: "n", Budget: "b", CreatedBy: "alice", DailyLimit: 1,
				Scopes: principal.AllScopes,
			},
			want: map[string]any{
				"sub": "", "tier": "enterprise", "teamId": "ws-1", "authMethod": "key",
				"keyPrefix": "csk_live_00000000", "keyId": "k", "keyName": "n", "dailyLimit": "1", "budget": "b",
				"createdBy": "alice", "ownerKind": "workspace", "workspaceId": "ws-1", "scopes": "*",
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
			if got != tt.p {
				t.Fatalf("FromContext(Context()) = %+v, want %+v", got, tt.p)
			}
		})
	}
	t.Run("a workspace key is told from a personal one", func(t *testing.T) {
		ws := principal.Principal{Method: principal.ViaKey, WorkspaceID: "w"}
		if !ws.WorkspaceKey() || ws.ID() != "workspace:w" {
			t.Fatalf("%v %q", ws.WorkspaceKey(), ws.ID())
		}
		own := principal.Principal{Sub: "u", Method: principal.ViaKey}
		if own.WorkspaceKey() || own.ID() != "u" {
			t.Fatalf("%v %q", own.WorkspaceKey(), own.ID())
		}
	})
}

func TestFromContext(t *testing.T) {
	key := func(edit func(m map[string]any)) map[string]any {
		m := map[string]any{
			"sub": "user-1", "tier": "pro", "teamId": "", "authMethod": "key", "ownerKind": "user",
			"keyPrefix": "csk_live_a1b2c3d4", "keyName": "CI", "dailyLimit": "250", "budget": "b",
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
			{"malformed exp is an error", map[string]any{"sub": "u", "authMethod": "jwt", "exp": "soon"}},
			{"non-numeric dailyLimit is an error", key(func(m map[string]any) { m["dailyLimit"] = "lots" })},
			{"negative dailyLimit is an error", key(func(m map[string]any) { m["dailyLimit"] = "-5" })},
			{"fractional dailyLimit is an error", key(func(m map[string]any) { m["dailyLimit"] = "2.5" })},
			{"key without prefix is an error", key(func(m map[string]any) { delete(m, "keyPrefix") })},
			{"key without budget is an error", key(func(m map[string]any) { delete(m, "budget") })},
			{"key without owner kind is an error", key(func(m map[string]any) { delete(m, "ownerKind") })},
			{"personal key without sub is an error", key(func(m map[string]any) { m["sub"] = "" })},
			{"workspace key without workspace is an error", key(func(m map[string]any) { m["ownerKind"] = "workspace" })},
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
		{" Team ", principal.Free},
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

func TestScopedKeyRoundTrip(t *testing.T) {
	p := principal.Principal{
		Sub: "u", Tier: principal.Pro, Method: principal.ViaKey, KeyPrefix: "csk_live_a1b2c3d4", Budget: "b",
		Scopes: "reports:read usage:read", AllowedIPs: "10.0.0.0/8,::1/128", IssuerTag: "0a1b2c3d", Email: "u@example.com",
	}
	got, err := principal.FromContext(p.Context())
	if err != nil || got != p {
		t.Fatalf("FromContext(Context()) = %+v, %v; want %+v", got, err, p)
	}
	for scope, want := range map[string]bool{"": true, "reports:read": true, "usage:read": true, "reports:write": false, "reports": false} {
		if p.HasScope(scope) != want {
			t.Errorf("HasScope(%q) = %v", scope, !want)
		}
	}
	jwt := principal.Principal{Sub: "u", Method: principal.ViaJWT}
	if !jwt.HasScope("reports:write") || jwt.ScopeList()[0] != "*" {
		t.Error("a JWT caller has every scope")
	}
}

func TestQualify(t *testing.T) {
	for _, tt := range []struct{ tag, id, owner string }{
		{"", "alice", "alice"},
		{"0a1b2c3d", "alice", "0a1b2c3d|alice"},
		{"", "a|b", "~|a|b"},
		{"0a1b2c3d", "a|b", "0a1b2c3d|a|b"},
	} {
		if got := principal.Qualify(tt.tag, tt.id); got != tt.owner {
			t.Errorf("Qualify(%q, %q) = %q, want %q", tt.tag, tt.id, got, tt.owner)
		}
		if tag, id := principal.Unqualify(tt.owner); tag != tt.tag || id != tt.id {
			t.Errorf("Unqualify(%q) = %q, %q", tt.owner, tag, id)
		}
	}
	if principal.IssuerTagOf("https://a") == principal.IssuerTagOf("https://b") || len(principal.IssuerTagOf("x")) != 8 {
		t.Error("issuer tags")
	}
}
