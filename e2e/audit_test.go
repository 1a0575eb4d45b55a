package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/local/devstack"
	"github.com/keygate/keygate/local/eventsink"
	"github.com/keygate/keygate/shared/audit"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/keys"
)

// record writes one audit record as the key service does around a change
// (intent, change, record), with the request's actor and source.
func record(t *testing.T, s *devstack.Stack, o keys.Owner, sub string, e audit.Event) {
	t.Helper()
	ctx := audit.WithActor(context.Background(), audit.User(sub))
	ctx = audit.WithSource(ctx, audit.Source{IP: netip.MustParseAddr("203.0.113.9"), UserAgent: "curl/8.5.0"})
	e.Owner = o.Audit()
	p, err := s.App.Audit.Begin(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
}

func limitChange(from, to int) audit.Changes {
	return audit.Changes{audit.FieldDailyLimit: {From: from, To: to}}
}

// TestAuditLogRoutes reads the two audit logs through the gateway: newest
// first, paged by cursor, each owner's own only, the workspace's on its key
// routes' terms, and the events local mode published for them.
func TestAuditLogRoutes(t *testing.T) {
	s := testenv.Stack(t, testenv.Options{})
	c := testenv.NewClient(t, s)
	alice := testenv.Token(t, s, devissuer.Token{Sub: "alice", Tier: "pro"})
	bob := testenv.Token(t, s, devissuer.Token{Sub: "bob", Tier: "free"})
	key, prefix := c.CreateKey(alice, map[string]any{"name": "CI Pipeline"})
	for i := range 3 {
		r := c.DoWith("PATCH", "/v1/api-keys/"+prefix, map[string]string{"Authorization": testenv.Bearer(alice), "User-Agent": "curl/8.5.0"},
			map[string]any{"dailyLimit": 249 - i})
		testenv.Must(t, r, 200, "")
	}

	t.Run("newest first, paged", func(t *testing.T) {
		r := c.Do("GET", "/v1/audit-log?limit=2", testenv.Bearer(alice), nil)
		testenv.Must(t, r, 200, "")
		events := r.Data()["events"].([]any)
		first := events[0].(map[string]any)
		if len(events) != 2 || first["action"] != "key.updated" || first["sourceIp"] != "127.0.0.1" || first["userAgent"] != "curl/8.5.0" ||
			first["actor"].(map[string]any)["id"] != "alice" || first["key"].(map[string]any)["prefix"] != prefix ||
			first["changes"].(map[string]any)["dailyLimit"].(map[string]any)["to"] != float64(247) {
			t.Fatalf("%s", r.Body)
		}
		next, _ := r.Data()["nextCursor"].(string)
		r = c.Do("GET", "/v1/audit-log?limit=2&cursor="+next, testenv.Bearer(alice), nil)
		testenv.Must(t, r, 200, "")
		events = r.Data()["events"].([]any)
		if len(events) != 2 || r.Data()["nextCursor"] != nil ||
			events[0].(map[string]any)["changes"].(map[string]any)["dailyLimit"].(map[string]any)["to"] != float64(249) ||
			events[1].(map[string]any)["action"] != "key.created" {
			t.Fatalf("%s", r.Body)
		}

		// Bob's log is empty, and alice's cursor is not one of his.
		r = c.Do("GET", "/v1/audit-log", testenv.Bearer(bob), nil)
		testenv.Must(t, r, 200, "")
		if len(r.Data()["events"].([]any)) != 0 {
			t.Fatalf("bob sees %s", r.Body)
		}
		testenv.Must(t, c.Do("GET", "/v1/audit-log?cursor="+next, testenv.Bearer(bob), nil), 400, "BadRequest")
	})

	t.Run("bad limit or cursor is 400", func(t *testing.T) {
		for _, q := range []string{"limit=0", "limit=101", "limit=abc", "limit=07", "limit=", "cursor=nope"} {
			testenv.Must(t, c.Do("GET", "/v1/audit-log?"+q, testenv.Bearer(alice), nil), 400, "BadRequest")
		}
	})

	t.Run("an API key is 403", func(t *testing.T) {
		testenv.Must(t, c.Do("GET", "/v1/audit-log", testenv.Bearer(key), nil), 403, "Forbidden")
	})

	t.Run("local mode published each record", func(t *testing.T) {
		resp, err := http.Get(s.URL + eventsink.Path + "?detail-type=key.updated")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got struct{ Events []eventsink.Event }
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || len(got.Events) != 3 || got.Events[0].Source != "keygate" {
			t.Fatalf("%+v %v", got, err)
		}
		var d map[string]any
		_ = json.Unmarshal(got.Events[0].Detail, &d)
		if d["owner"].(map[string]any)["id"] != "alice" || d["changes"].(map[string]any)["dailyLimit"] == nil {
			t.Fatalf("%s", got.Events[0].Detail)
		}
	})
}

func TestWorkspaceAuditLog(t *testing.T) {
	f := newWorkspace(t, nil)
	record(t, f.s, keys.Workspace(wsID), aliceID, audit.Event{Action: audit.KeyUpdated,
		Key:     &audit.KeyRef{Prefix: "csk_live_abc12345", ID: "550e8400-e29b-41d4-a716-446655440000", Name: "CI/CD Pipeline Key"},
		Changes: audit.Changes{audit.FieldDailyLimit: {From: 250, To: 5}, audit.FieldAllowedIPs: {From: []string{}, To: []string{"203.0.113.0/24"}}}})
	path := "/api/v1/workspaces/" + wsID + "/audit-log"

	r := f.seed("GET", path, f.bob, nil)
	testenv.MustBare(t, r, 200, "")
	events := r.JSON["events"].([]any)
	if len(events) != 1 || r.JSON["next_cursor"] != nil {
		t.Fatalf("%s", r.Body)
	}
	e := events[0].(map[string]any)
	ch := e["changes"].(map[string]any)
	if e["source_ip"] != "203.0.113.9" || e["user_agent"] != "curl/8.5.0" || ch["daily_limit"] == nil || ch["allowed_ips"] == nil ||
		e["actor"].(map[string]any)["id"] != aliceID {
		t.Fatalf("%s", r.Body)
	}

	outsider := testenv.Token(t, f.s, devissuer.Token{Sub: "eve", Tier: "team", TeamID: otherWS})
	testenv.Must(t, f.c.Do("GET", path, testenv.Bearer(outsider), nil), 404, "NotFound")
	lower := testenv.Token(t, f.s, devissuer.Token{Sub: "carol", Tier: "pro", TeamID: wsID})
	testenv.Must(t, f.c.Do("GET", path, testenv.Bearer(lower), nil), 403, "Forbidden")
	testenv.Must(t, f.c.Do("GET", path+"?limit=500", testenv.Bearer(f.alice), nil), 400, "BadRequest")
	testenv.Must(t, f.c.DoWith("GET", path, map[string]string{"Authorization": "Bearer " + f.alice, "X-Workspace-ID": otherWS}, nil), 400, "BadRequest")

	// A member's request that died before its change: its intent is dropped
	// by the next read once due, and never shown.
	if _, err := f.s.App.Audit.Begin(context.Background(), audit.Event{Action: audit.KeyRevoked, Owner: keys.Workspace(wsID).Audit(),
		Key: &audit.KeyRef{Prefix: "csk_live_abc12345", ID: "550e8400-e29b-41d4-a716-446655440000", Name: "CI/CD Pipeline Key"}, Reason: "owner"}); err != nil {
		t.Fatal(err)
	}
	f.s.App.Clock.(*clock.Fixed).Advance(audit.DefaultSettle + time.Second)
	r = f.seed("GET", path, f.bob, nil)
	testenv.MustBare(t, r, 200, "")
	if len(r.JSON["events"].([]any)) != 1 {
		t.Fatalf("%s", r.Body)
	}
}
