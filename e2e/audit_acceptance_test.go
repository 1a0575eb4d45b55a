package e2e

import (
	"context"
	"testing"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/shared/audit"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/principal"
	"github.com/keygate/keygate/shared/secretscan/secretscantest"
)

// event is one record of a log answer.
func event(t *testing.T, r testenv.Response, i int) map[string]any {
	t.Helper()
	events := r.Data()["events"].([]any)
	if i >= len(events) {
		t.Fatalf("no event %d: %s", i, r.Body)
	}
	return events[i].(map[string]any)
}

// TestAuditTrailOfAKeysLife is issue 18's acceptance through the API:
// create, rename, lower the limit, rotate, revoke; then a leak report, a
// tier change by billing and the first 429 of a day.
func TestAuditTrailOfAKeysLife(t *testing.T) {
	gh := secretscantest.New(t)
	signer := gh.AddKey(t, "gh-1")
	s := testenv.Stack(t, testenv.Options{Env: map[string]string{"KEYGATE_GITHUB_KEYS_URL": gh.URL}})
	c := testenv.NewClient(t, s)
	alice := testenv.Token(t, s, devissuer.Token{Sub: "alice", Tier: "pro"})
	bob := testenv.Token(t, s, devissuer.Token{Sub: "bob", Tier: "pro"})
	as := func(method, path string, body any) testenv.Response {
		return c.DoWith(method, path, map[string]string{"Authorization": testenv.Bearer(alice), "User-Agent": "curl/8.5.0"}, body)
	}

	r := as("POST", "/v1/api-keys", map[string]any{"name": "CI Pipeline"})
	testenv.Must(t, r, 201, "")
	key, prefix := r.Data()["key"].(string), r.Data()["prefix"].(string)
	testenv.Must(t, as("PATCH", "/v1/api-keys/"+prefix, map[string]any{"name": "CI"}), 200, "")
	testenv.Must(t, as("PATCH", "/v1/api-keys/"+prefix, map[string]any{"dailyLimit": 5}), 200, "")
	r = as("POST", "/v1/api-keys/"+prefix+"/rotate", map[string]any{"gracePeriodSeconds": 0})
	testenv.Must(t, r, 201, "")
	succ := r.Data()["prefix"].(string)
	testenv.Must(t, as("DELETE", "/v1/api-keys/"+succ, nil), 200, "")

	t.Run("the owner's log, newest first, with actor, key, changes and user agent", func(t *testing.T) {
		r := c.Do("GET", "/v1/audit-log", testenv.Bearer(alice), nil)
		testenv.Must(t, r, 200, "")
		want := []struct{ action, prefix string }{
			{"key.revoked", succ}, {"key.created", succ}, {"key.rotated", prefix}, {"key.updated", prefix},
			{"key.updated", prefix}, {"key.created", prefix},
		}
		if got := actionsOf(r); len(got) != len(want) {
			t.Fatalf("actions %v: %s", got, r.Body)
		}
		for i, w := range want {
			ev := event(t, r, i)
			if ev["action"] != w.action || ev["key"].(map[string]any)["prefix"] != w.prefix ||
				ev["actor"].(map[string]any)["type"] != "user" || ev["actor"].(map[string]any)["id"] != "alice" ||
				ev["userAgent"] != "curl/8.5.0" || ev["sourceIp"] != "127.0.0.1" {
				t.Fatalf("event %d = %v, want %s of %s by alice", i, ev, w.action, w.prefix)
			}
		}
		limit := event(t, r, 3)["changes"].(map[string]any)["dailyLimit"].(map[string]any)
		if limit["from"] != float64(250) || limit["to"] != float64(5) {
			t.Fatalf("dailyLimit change %v", limit)
		}
		if name := event(t, r, 4)["changes"].(map[string]any)["name"].(map[string]any); name["from"] != "CI Pipeline" || name["to"] != "CI" {
			t.Fatalf("name change %v", name)
		}
		if event(t, r, 0)["reason"] != "owner" {
			t.Fatalf("revocation without its reason: %v", event(t, r, 0))
		}
	})
	t.Run("another user sees none of it, an API key is 403", func(t *testing.T) {
		r := c.Do("GET", "/v1/audit-log", testenv.Bearer(bob), nil)
		testenv.Must(t, r, 200, "")
		if len(r.Data()["events"].([]any)) != 0 {
			t.Fatalf("%s", r.Body)
		}
		live, _ := c.CreateKey(bob, map[string]any{"name": "bob's"})
		testenv.Must(t, c.Do("GET", "/v1/audit-log", testenv.Bearer(live), nil), 403, "Forbidden")
		_ = key
	})
	t.Run("a leak report: key.leaked by github, key.revoked with reason leaked", func(t *testing.T) {
		leaked, lp := c.CreateKey(alice, map[string]any{"name": "leaky"})
		st, b := postReport(t, s.URL, signer, secretscantest.Report(secretscantest.Match{Token: leaked, Type: "keygate_api_key", URL: leakURL, Source: "content"}))
		if st != 200 {
			t.Fatalf("%d %s", st, b)
		}
		r := c.Do("GET", "/v1/audit-log?limit=2", testenv.Bearer(alice), nil)
		revoked, leak := event(t, r, 0), event(t, r, 1)
		if leak["action"] != "key.leaked" || leak["actor"].(map[string]any)["type"] != "github" || leak["key"].(map[string]any)["prefix"] != lp ||
			leak["changes"].(map[string]any)["leakedUrl"].(map[string]any)["to"] != leakURL {
			t.Fatalf("%v", leak)
		}
		if revoked["action"] != "key.revoked" || revoked["reason"] != "leaked" || revoked["actor"].(map[string]any)["type"] != "github" {
			t.Fatalf("%v", revoked)
		}
	})
	t.Run("billing's tier change to free: owner.tier_changed and key.suspended by admin", func(t *testing.T) {
		_, kp := c.CreateKey(alice, map[string]any{"name": "billed"})
		ctx := audit.WithActor(context.Background(), audit.Admin("ops@example.com"))
		if _, err := s.App.Keys.SetTier(ctx, keys.User("alice"), principal.Free); err != nil {
			t.Fatal(err)
		}
		r := c.Do("GET", "/v1/audit-log?limit=2", testenv.Bearer(alice), nil)
		suspended, tier := event(t, r, 0), event(t, r, 1)
		if suspended["action"] != "key.suspended" || suspended["key"].(map[string]any)["prefix"] != kp ||
			suspended["actor"].(map[string]any)["type"] != "admin" {
			t.Fatalf("%v", suspended)
		}
		if tier["action"] != "owner.tier_changed" || tier["changes"].(map[string]any)["tier"].(map[string]any)["to"] != "free" {
			t.Fatalf("%v", tier)
		}
		if _, err := s.App.Keys.SetTier(ctx, keys.User("alice"), principal.Pro); err != nil {
			t.Fatal(err)
		}
		if got := actionsOf(c.Do("GET", "/v1/audit-log?limit=2", testenv.Bearer(alice), nil)); got[0] != "key.reactivated" || got[1] != "owner.tier_changed" {
			t.Fatalf("%v", got)
		}
	})
	t.Run("the first 429 of a UTC day is one key.limit_reached", func(t *testing.T) {
		k, kp := c.CreateKey(alice, map[string]any{"name": "tight", "dailyLimit": 1})
		testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(k), nil), 200, "")
		for range 3 {
			testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(k), nil), 429, "RateLimitExceeded")
		}
		count := func() int {
			n := 0
			alice := testenv.Token(t, s, devissuer.Token{Sub: "alice", Tier: "pro"}) // fresh on the test's clock
			r := c.Do("GET", "/v1/audit-log?limit=100", testenv.Bearer(alice), nil)
			testenv.Must(t, r, 200, "")
			for i, a := range actionsOf(r) {
				if a == "key.limit_reached" {
					if ev := event(t, r, i); ev["key"].(map[string]any)["prefix"] != kp || ev["actor"].(map[string]any)["type"] != "system" {
						t.Fatalf("%v", ev)
					}
					n++
				}
			}
			return n
		}
		if n := count(); n != 1 {
			t.Fatalf("%d key.limit_reached, want 1", n)
		}
		// The next day's first 429 is another.
		s.App.Clock.(*clock.Fixed).Advance(24 * 60 * 60 * 1e9)
		testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(k), nil), 200, "")
		testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(k), nil), 429, "RateLimitExceeded")
		if n := count(); n != 2 {
			t.Fatalf("%d key.limit_reached after a second day, want 2", n)
		}
	})
}

// TestWorkspaceAuditTrail: a workspace's changes are in its log for its
// members, and a non-member gets 404.
func TestWorkspaceAuditTrail(t *testing.T) {
	f := newWorkspace(t, nil)
	r := f.seed("POST", wsPath(wsID), f.alice, map[string]any{"name": "deploy"})
	testenv.MustBare(t, r, 201, "")
	testenv.MustBare(t, f.seed("DELETE", wsPath(wsID, "/", r.JSON["id"].(string)), f.bob, nil), 200, "")
	r = f.seed("GET", "/api/v1/workspaces/"+wsID+"/audit-log", f.bob, nil)
	testenv.MustBare(t, r, 200, "")
	events := r.JSON["events"].([]any)
	if len(events) != 2 {
		t.Fatalf("%s", r.Body)
	}
	revoked := events[0].(map[string]any)
	if revoked["action"] != "key.revoked" || revoked["actor"].(map[string]any)["id"] != bobID || revoked["source_ip"] != "127.0.0.1" ||
		events[1].(map[string]any)["actor"].(map[string]any)["id"] != aliceID {
		t.Fatalf("%s", r.Body)
	}
	outsider := testenv.Token(t, f.s, devissuer.Token{Sub: "eve", Tier: "team", TeamID: "other"})
	testenv.Must(t, f.c.Do("GET", "/api/v1/workspaces/"+wsID+"/audit-log", testenv.Bearer(outsider), nil), 404, "NotFound")
}
