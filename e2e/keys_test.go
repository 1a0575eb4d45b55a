package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
)

func TestKeyLifecycle(t *testing.T) {
	s := testenv.Stack(t, testenv.Options{})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "alice", Tier: "pro", TeamID: "t1"})

	r := c.Do("POST", "/v1/api-keys", testenv.Bearer(tok), map[string]any{"name": "  CI Pipeline  ", "dailyLimit": 1000})
	testenv.Must(t, r, 201, "")
	d := r.Data()
	key, prefix := d["key"].(string), d["prefix"].(string)
	if !strings.HasPrefix(key, prefix) || len(key) != 41 || len(prefix) != 17 {
		t.Fatalf("key %q prefix %q", key, prefix)
	}
	if d["name"] != "CI Pipeline" || d["dailyLimit"] != 1000.0 || d["status"] != "active" || d["createdAt"] != "2026-11-25T12:00:00Z" {
		t.Fatalf("create answered %s", r.Body)
	}

	t.Run("the key authenticates as its owner", func(t *testing.T) {
		r := c.Do("GET", "/v1/usage", testenv.Bearer(key), nil)
		testenv.Must(t, r, 200, "")
		k := r.Data()["keys"].([]any)[0].(map[string]any)
		if k["prefix"] != prefix || k["used"] != 1.0 || k["remaining"] != 999.0 || k["name"] != "CI Pipeline" {
			t.Fatalf("usage %s", r.Body)
		}
	})

	t.Run("list shows metadata, never the key or its hash", func(t *testing.T) {
		r := c.Do("GET", "/v1/api-keys", testenv.Bearer(tok), nil)
		testenv.Must(t, r, 200, "")
		if strings.Contains(string(r.Body), key[17:]) || strings.Contains(string(r.Body), "hash") {
			t.Fatalf("list leaks the secret: %s", r.Body)
		}
		keys := r.Data()["keys"].([]any)
		if len(keys) != 1 || keys[0].(map[string]any)["prefix"] != prefix {
			t.Fatalf("list %s", r.Body)
		}
		k := keys[0].(map[string]any)
		for _, f := range []string{"prefix", "name", "dailyLimit", "status", "createdAt", "updatedAt", "lastUsedAt"} {
			if _, ok := k[f]; !ok {
				t.Errorf("list item lacks %q: %s", f, r.Body)
			}
		}
	})

	t.Run("patch renames and changes the limit", func(t *testing.T) {
		r := c.Do("PATCH", "/v1/api-keys/"+prefix, testenv.Bearer(tok), map[string]any{"name": "Deploys", "dailyLimit": 5})
		testenv.Must(t, r, 200, "")
		if r.Data()["name"] != "Deploys" || r.Data()["dailyLimit"] != 5.0 {
			t.Fatalf("patch %s", r.Body)
		}
		r = c.Do("GET", "/v1/usage", testenv.Bearer(key), nil)
		testenv.Must(t, r, 200, "")
		if r.Header.Get("X-RateLimit-Limit") != "5" {
			t.Fatalf("new limit not applied on the next request: %v", r.Header)
		}
	})

	t.Run("revoke is permanent and takes effect on the very next request", func(t *testing.T) {
		r := c.Do("DELETE", "/v1/api-keys/"+prefix, testenv.Bearer(tok), nil)
		testenv.Must(t, r, 200, "")
		if r.Data()["message"] != "API key revoked" {
			t.Fatalf("revoke %s", r.Body)
		}
		testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 401, "Unauthorized")
		testenv.Must(t, c.Do("DELETE", "/v1/api-keys/"+prefix, testenv.Bearer(tok), nil), 404, "NotFound")
		testenv.Must(t, c.Do("PATCH", "/v1/api-keys/"+prefix, testenv.Bearer(tok), map[string]any{"name": "x"}), 404, "NotFound")

		r = c.Do("GET", "/v1/api-keys", testenv.Bearer(tok), nil)
		if n := len(r.Data()["keys"].([]any)); n != 0 {
			t.Fatalf("revoked key listed as active: %s", r.Body)
		}
		r = c.Do("GET", "/v1/api-keys?status=all", testenv.Bearer(tok), nil)
		k := r.Data()["keys"].([]any)[0].(map[string]any)
		if k["status"] != "revoked" || k["revokedAt"] == nil {
			t.Fatalf("revoked key not kept for audit: %s", r.Body)
		}
	})
}

func TestListNewestFirst(t *testing.T) {
	s := testenv.Stack(t, testenv.Options{})
	clk := s.App.Clock.(interface{ Advance(d time.Duration) })
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "bob", Tier: "team"})
	var want []string
	for i := range 3 {
		_, p := c.CreateKey(tok, map[string]any{"name": fmt.Sprintf("k%d", i)})
		want = append([]string{p}, want...)
		clk.Advance(time.Second)
	}
	r := c.Do("GET", "/v1/api-keys", testenv.Bearer(tok), nil)
	var got []string
	for _, k := range r.Data()["keys"].([]any) {
		got = append(got, k.(map[string]any)["prefix"].(string))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("order %v, want newest first %v", got, want)
	}
}
