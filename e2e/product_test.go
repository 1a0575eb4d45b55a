package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/examples/reports"
	"github.com/keygate/keygate/examples/reports/api"
	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/local/devstack"
)

// TestExampleProduct: the example product (examples/reports), which local
// mode serves by default, answers as the contract and docs/openapi.yaml
// say (testenv's client checks every answer against the document), behind
// the same gateway, authorizer and meter as keygate's own routes.
func TestExampleProduct(t *testing.T) {
	s := testenv.Stack(t, testenv.Options{}) // the default product: the example
	c := testenv.NewClient(t, s)
	alice := testenv.Token(t, s, devissuer.Token{Sub: "alice", Tier: "pro", TeamID: "t-1"})
	bob := testenv.Token(t, s, devissuer.Token{Sub: "bob", Tier: "pro"})
	id := regexp.MustCompile(`^rpt_[0-9a-f]{12}$`)

	var created map[string]any
	t.Run("a signed-in user is not metered and has every scope", func(t *testing.T) {
		r := c.Do("POST", "/v1/reports", testenv.Bearer(alice), map[string]any{"title": "Q3 numbers"})
		testenv.Must(t, r, 201, "")
		created = r.Data()["report"].(map[string]any)
		if !id.MatchString(created["id"].(string)) || created["title"] != "Q3 numbers" {
			t.Fatalf("%s", r.Body)
		}
		if _, err := time.Parse(time.RFC3339, created["createdAt"].(string)); err != nil {
			t.Fatalf("createdAt: %v", err)
		}
		r = c.Do("GET", "/v1/reports", testenv.Bearer(alice), nil)
		testenv.Must(t, r, 200, "")
		for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
			if r.Header.Get(h) != "" {
				t.Fatalf("a JWT answer carries %s: metered?", h)
			}
		}
		caller := r.Data()["caller"].(map[string]any)
		if caller["kind"] != "user" || caller["sub"] != "alice" || caller["tier"] != "pro" || caller["teamId"] != "t-1" ||
			len(caller["scopes"].([]any)) != 1 || caller["scopes"].([]any)[0] != "*" || caller["keyPrefix"] != nil {
			t.Fatalf("caller %v", caller)
		}
		if list := r.Data()["reports"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != created["id"] {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("a personal key acts as its owner and is metered", func(t *testing.T) {
		key, prefix := c.CreateKey(alice, map[string]any{"name": "reports", "dailyLimit": 20})
		r := c.Do("GET", "/v1/reports", testenv.Bearer(key), nil)
		testenv.Must(t, r, 200, "")
		if remaining(t, r) != 19 || len(r.Data()["reports"].([]any)) != 1 {
			t.Fatalf("remaining %d: %s", remaining(t, r), r.Body)
		}
		caller := r.Data()["caller"].(map[string]any)
		if caller["kind"] != "key" || caller["sub"] != "alice" || caller["keyPrefix"] != prefix || caller["keyId"] == nil || caller["workspaceId"] != nil {
			t.Fatalf("caller %v", caller)
		}
	})
	t.Run("another caller sees none of them", func(t *testing.T) {
		r := c.Do("GET", "/v1/reports", testenv.Bearer(bob), nil)
		testenv.Must(t, r, 200, "")
		if len(r.Data()["reports"].([]any)) != 0 {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("the body is optional", func(t *testing.T) {
		for _, body := range []any{nil, "", "{}", map[string]any{"title": nil}} {
			r := c.Do("POST", "/v1/reports", testenv.Bearer(bob), body)
			testenv.Must(t, r, 201, "")
			if r.Data()["report"].(map[string]any)["title"] != "Untitled report" {
				t.Fatalf("%q: %s", body, r.Body)
			}
		}
	})
	t.Run("a bad body is 400 naming the field", func(t *testing.T) {
		for _, tc := range []struct {
			body any
			want string
		}{
			{map[string]any{"title": ""}, "'title'"},
			{map[string]any{"title": strings.Repeat("é", 201)}, "'title'"},
			{map[string]any{"title": 3}, "'title'"},
			{"{\"title\":\"\xff\"}", "not valid UTF-8 (at byte 10)"},
			{map[string]any{"titel": "x"}, "'titel'"},
			{"{\"title\":", "not valid JSON"},
		} {
			r := c.Do("POST", "/v1/reports", testenv.Bearer(bob), tc.body)
			testenv.Must(t, r, 400, "BadRequest")
			if !strings.Contains(r.Message(), tc.want) {
				t.Fatalf("%v: %s", tc.body, r.Message())
			}
		}
		r := c.Do("POST", "/v1/reports", testenv.Bearer(bob), map[string]any{"title": strings.Repeat("é", 200)})
		testenv.Must(t, r, 201, "")
	})
	t.Run("a workspace key acts as the workspace, its scopes visible to product code", func(t *testing.T) {
		m := testenv.Token(t, s, devissuer.Token{Sub: "m", Tier: "team", TeamID: "ws-ex"})
		r := c.Do("POST", "/api/v1/workspaces/ws-ex/api-keys", testenv.Bearer(m), map[string]any{"name": "ci", "scopes": []string{"reports:read", "reports:write"}})
		testenv.MustBare(t, r, 201, "")
		wk := r.JSON["key"].(string)
		r = c.Do("POST", "/v1/reports", testenv.Bearer(wk), map[string]any{"title": "team report"})
		testenv.Must(t, r, 201, "")
		caller := r.Data()["caller"].(map[string]any)
		if caller["kind"] != "key" || caller["sub"] != "" || caller["workspaceId"] != "ws-ex" || caller["teamId"] != "ws-ex" || caller["tier"] != "team" {
			t.Fatalf("caller %v", caller)
		}
		if sc := caller["scopes"].([]any); len(sc) != 2 || sc[0] != "reports:read" || sc[1] != "reports:write" {
			t.Fatalf("scopes %v", sc)
		}
		// The workspace's reports are the workspace's, not its member's.
		r = c.Do("GET", "/v1/reports", testenv.Bearer(wk), nil)
		testenv.Must(t, r, 200, "")
		if list := r.Data()["reports"].([]any); len(list) != 1 || list[0].(map[string]any)["title"] != "team report" {
			t.Fatalf("%s", r.Body)
		}
		r = c.Do("GET", "/v1/reports", testenv.Bearer(m), nil)
		testenv.Must(t, r, 200, "")
		if len(r.Data()["reports"].([]any)) != 0 {
			t.Fatalf("%s", r.Body)
		}
	})
}

// TestProductDevServer is the local development path docs/protect-your-api.md
// describes: a product's own dev server (a devstack with the product's
// routes and guard handler) on make dev's DynamoDB endpoint and table, and
// trusting make dev's dev issuer, so the keys and tokens of make dev work
// against the product's routes, keys metered on the same budgets.
func TestProductDevServer(t *testing.T) {
	dev := testenv.Stack(t, testenv.Options{}) // make dev
	c := testenv.NewClient(t, dev)
	tok := testenv.Token(t, dev, devissuer.Token{Sub: "dana", Tier: "pro"})
	key, _ := c.CreateKey(tok, map[string]any{"name": "product dev", "dailyLimit": 10})

	// The product's own declarations and guard handler, as its dev server
	// hands them over (the example's here: the e2e suite proves each
	// function's AWS calls, and the example's are the product grants).
	mine := testenv.Stack(t, testenv.Options{
		Env: map[string]string{
			"KEYGATE_TABLE": dev.App.Config.Table, "KEYGATE_ISSUER": dev.Issuer.URL, "KEYGATE_CLIENT_IDS": devstack.DefaultClientID,
		},
		Product: devstack.GuardRoutes(reports.Routes, api.New()),
	})
	mc := testenv.NewClient(t, mine)
	r := mc.Do("POST", "/v1/reports", testenv.Bearer(key), map[string]any{"title": "from my dev server"})
	testenv.Must(t, r, 201, "")
	if remaining(t, r) != 5 {
		t.Fatalf("the product's route: remaining %d, want 5", remaining(t, r))
	}
	r = c.Do("GET", "/v1/usage", testenv.Bearer(key), nil)
	testenv.Must(t, r, 200, "")
	if remaining(t, r) != 4 {
		t.Fatalf("make dev's meter does not see the product's 5 units: remaining %d", remaining(t, r))
	}
	r = mc.Do("GET", "/v1/reports", testenv.Bearer(tok), nil)
	testenv.Must(t, r, 200, "")
	if r.Header.Get("X-RateLimit-Remaining") != "" || len(r.Data()["reports"].([]any)) != 1 {
		t.Fatalf("make dev's token on the product's dev server: %s", r.Body)
	}
}
