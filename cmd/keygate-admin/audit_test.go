package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/shared/audit"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/keys"
)

func TestAdminAudit(t *testing.T) {
	clk := clock.NewFixed(time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC))
	s := testenv.Stack(t, testenv.Options{Clock: clk})
	setClock(t, clk)
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "olga", Tier: "pro"})
	_, first := c.CreateKey(tok, map[string]any{"name": "first"})
	_, second := c.CreateKey(tok, map[string]any{"name": "second"})
	ctx := audit.WithActor(context.Background(), audit.Admin("ops@example"))
	for i, prefix := range []string{first, second, first} {
		p, err := s.App.Audit.Begin(ctx, audit.Event{Action: audit.KeyUpdated, Owner: keys.User("olga").Audit(),
			Key: &audit.KeyRef{Prefix: prefix, ID: "id", Name: "n"}, Changes: audit.Changes{"dailyLimit": {From: 250, To: 10 + i}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Commit(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	table := s.App.Config.Table

	out, errs, code := admin(t, table, "audit", "--user", "olga")
	if code != 0 || strings.Count(out, "key.updated") != 3 || !strings.Contains(out, "by admin ops@example") ||
		!strings.Contains(out, "dailyLimit 250 → 12") || strings.Index(out, "→ 12") > strings.Index(out, "→ 10") {
		t.Fatalf("%d %s %s", code, out, errs)
	}
	// The first key's log: its key.created and two key.updated.
	out, errs, code = admin(t, table, "--json", "audit", "--limit", "2", first)
	var v struct {
		Events     []map[string]any
		NextCursor *string
	}
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || len(v.Events) != 2 || v.NextCursor == nil ||
		v.Events[0]["key"].(map[string]any)["prefix"] != first {
		t.Fatalf("%d %s %s", code, out, errs)
	}
	out, _, code = admin(t, table, "--json", "audit", "--cursor", *v.NextCursor, first)
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || len(v.Events) != 1 || v.NextCursor != nil {
		t.Fatalf("second page: %d %s", code, out)
	}
	for _, bad := range [][]string{{"audit"}, {"audit", "--user", "olga", first}, {"audit", "--workspace", "a b"}} {
		if _, errs, code := admin(t, table, bad...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d %q", bad, code, errs)
		}
	}
	if _, errs, code := admin(t, table, "audit", "--user", "olga", "--limit", "500"); code != 1 || !strings.Contains(errs, "limit") {
		t.Errorf("limit 500: exit %d %q", code, errs)
	}
}
