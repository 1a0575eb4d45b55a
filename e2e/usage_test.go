package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/shared/clock"
)

func history(t *testing.T, k map[string]any) string {
	t.Helper()
	var out string
	for _, h := range k["history"].([]any) {
		d := h.(map[string]any)
		out += fmt.Sprintf("%s=%v ", d["date"], d["used"])
	}
	return out
}

func TestUsageHistoryOverSeveralDays(t *testing.T) {
	clk := clock.NewFixed(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
	s := testenv.Stack(t, testenv.Options{Clock: clk})
	c := testenv.NewClient(t, s)
	tok := func() string { return testenv.Token(t, s, devissuer.Token{Sub: "u", Tier: "team"}) }
	keyA, prefixA := c.CreateKey(tok(), map[string]any{"name": "A", "dailyLimit": 10})
	keyB, prefixB := c.CreateKey(tok(), map[string]any{"name": "B"})

	// Nov 20: A×3, B×1; Nov 21: nothing; Nov 22: A×12 (10 counted, 2 refused); Nov 23: B×2.
	send := func(key string, n int) {
		for range n {
			c.Do("GET", "/v1/usage", testenv.Bearer(key), nil)
		}
	}
	send(keyA, 3)
	send(keyB, 1)
	clk.Advance(48 * time.Hour)
	send(keyA, 12)
	clk.Advance(24 * time.Hour)
	send(keyB, 2)

	t.Run("JWT view: every active key with history, oldest first", func(t *testing.T) {
		r := c.Do("GET", "/v1/usage?days=4", testenv.Bearer(tok()), nil)
		testenv.Must(t, r, 200, "")
		d := r.Data()
		if d["date"] != "2026-11-23" || d["resetsAt"] != "2026-11-24T00:00:00Z" {
			t.Fatalf("date %v resetsAt %v", d["date"], d["resetsAt"])
		}
		got := map[string]string{}
		for _, k := range d["keys"].([]any) {
			k := k.(map[string]any)
			got[k["prefix"].(string)] = fmt.Sprintf("used=%v remaining=%v %s", k["used"], k["remaining"], history(t, k))
		}
		want := map[string]string{
			prefixA: "used=0 remaining=10 2026-11-20=3 2026-11-21=0 2026-11-22=10 2026-11-23=0 ",
			prefixB: "used=2 remaining=248 2026-11-20=1 2026-11-21=0 2026-11-22=0 2026-11-23=2 ",
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("usage\n got %v\nwant %v", got, want)
		}
	})

	t.Run("key view: that key only, this request counted", func(t *testing.T) {
		r := c.Do("GET", "/v1/usage?days=2", testenv.Bearer(keyB), nil)
		testenv.Must(t, r, 200, "")
		keys := r.Data()["keys"].([]any)
		if len(keys) != 1 {
			t.Fatalf("key view shows %d keys", len(keys))
		}
		k := keys[0].(map[string]any)
		if k["prefix"] != prefixB || k["used"] != 3.0 || history(t, k) != "2026-11-22=0 2026-11-23=3 " {
			t.Fatalf("key view %s", r.Body)
		}
	})

	t.Run("default is today only", func(t *testing.T) {
		r := c.Do("GET", "/v1/usage", testenv.Bearer(tok()), nil)
		for _, k := range r.Data()["keys"].([]any) {
			if n := len(k.(map[string]any)["history"].([]any)); n != 1 {
				t.Fatalf("history of %d days by default", n)
			}
		}
	})

	t.Run("a revoked key leaves the JWT view", func(t *testing.T) {
		testenv.Must(t, c.Do("DELETE", "/v1/api-keys/"+prefixA, testenv.Bearer(tok()), nil), 200, "")
		r := c.Do("GET", "/v1/usage", testenv.Bearer(tok()), nil)
		keys := r.Data()["keys"].([]any)
		if len(keys) != 1 || keys[0].(map[string]any)["prefix"] != prefixB {
			t.Fatalf("after revoke: %s", r.Body)
		}
	})

	t.Run("another user sees none of it", func(t *testing.T) {
		other := testenv.Token(t, s, devissuer.Token{Sub: "someone-else", Tier: "enterprise"})
		r := c.Do("GET", "/v1/usage?days=90", testenv.Bearer(other), nil)
		testenv.Must(t, r, 200, "")
		if n := len(r.Data()["keys"].([]any)); n != 0 {
			t.Fatalf("stranger sees %d keys: %s", n, r.Body)
		}
	})
}
