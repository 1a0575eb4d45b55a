package e2e

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/local/devstack"
)

// The seed's workspace and creator ids are UUIDs; keygate takes any
// [A-Za-z0-9._-]{1,64}.
const (
	wsID    = "660e8400-e29b-41d4-a716-446655440000"
	otherWS = "770e8400-e29b-41d4-a716-446655440099"
	aliceID = "770e8400-e29b-41d4-a716-446655440000"
	bobID   = "880e8400-e29b-41d4-a716-446655440000"
)

type wsFixture struct {
	s     *devstack.Stack
	c     *testenv.Client
	alice string // member of wsID, tier team
	bob   string // member of wsID, tier enterprise
}

func newWorkspace(t *testing.T, env map[string]string) wsFixture {
	s := testenv.Stack(t, testenv.Options{Env: env})
	return wsFixture{
		s:     s,
		c:     testenv.NewClient(t, s),
		alice: testenv.Token(t, s, devissuer.Token{Sub: aliceID, Tier: "team", TeamID: wsID}),
		bob:   testenv.Token(t, s, devissuer.Token{Sub: bobID, Tier: "enterprise", TeamID: wsID}),
	}
}

func wsPath(id string, rest ...string) string {
	return "/api/v1/workspaces/" + id + "/api-keys" + strings.Join(rest, "")
}

// seed sends a request as the seed's curl examples do: Authorization and
// X-Workspace-ID, Content-Type with a body.
func (f wsFixture) seed(method, path, token string, body any) testenv.Response {
	return f.c.DoWith(method, path, map[string]string{"Authorization": "Bearer " + token, "X-Workspace-ID": wsID}, body)
}

func fields(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestWorkspaceSeedExamples(t *testing.T) {
	f := newWorkspace(t, nil)

	// curl -X POST .../api/v1/workspaces/{id}/api-keys -H "Authorization: Bearer <token>"
	//   -H "X-Workspace-ID: <workspace-id>" -H "Content-Type: application/json" -d '{"name": "CI/CD Pipeline Key"}'
	r := f.seed("POST", wsPath(wsID), f.alice, "{\n    \"name\": \"CI/CD Pipeline Key\"\n  }")
	testenv.MustBare(t, r, 201, "")
	created := r.JSON
	t.Run("create answers the seed's object, key included, field for field", func(t *testing.T) {
		for _, k := range []string{"id", "workspace_id", "name", "key", "key_prefix", "status", "created_by", "created_at", "updated_at"} {
			if _, ok := created[k]; !ok {
				t.Fatalf("create lacks %q: %s", k, r.Body)
			}
		}
		if created["workspace_id"] != wsID || created["name"] != "CI/CD Pipeline Key" || created["status"] != "active" ||
			created["created_by"] != aliceID || created["created_at"] != created["updated_at"] {
			t.Fatalf("create %s", r.Body)
		}
		key, prefix := created["key"].(string), created["key_prefix"].(string)
		if !strings.HasPrefix(key, "csk_live_") || len(key) != 41 || key[:17] != prefix {
			t.Fatalf("key %q, prefix %q", key, prefix)
		}
		if id, _ := created["id"].(string); len(id) != 36 || id[14] != '4' {
			t.Fatalf("id %q is not a UUID v4", id)
		}
		for _, k := range []string{"daily_limit", "last_used_at", "expires_at"} {
			if _, ok := created[k]; !ok {
				t.Fatalf("keygate's own field %q missing: %s", k, r.Body)
			}
		}
		if created["daily_limit"] != 250.0 || created["last_used_at"] != nil || created["expires_at"] != nil {
			t.Fatalf("%s", r.Body)
		}
	})

	// curl -X GET .../api/v1/workspaces/{id}/api-keys -H "Authorization: Bearer <token>" -H "X-Workspace-ID: <workspace-id>"
	t.Run("list is a bare array of the seed's objects, never the key", func(t *testing.T) {
		r := f.seed("GET", wsPath(wsID), f.bob, nil)
		testenv.MustBare(t, r, 200, "")
		if len(r.Array) != 1 {
			t.Fatalf("list %s", r.Body)
		}
		k := r.Array[0].(map[string]any)
		if _, ok := k["key"]; ok || strings.Contains(string(r.Body), created["key"].(string)) {
			t.Fatalf("the list shows the key: %s", r.Body)
		}
		// The seed's fields, and keygate's own after updated_at (scopes,
		// networks, the creator's email).
		want := []string{"allowed_ips", "created_at", "created_by", "created_by_email", "daily_limit", "expires_at", "id", "key_prefix", "last_used_at", "name", "scopes", "status", "updated_at", "workspace_id"}
		if got := fields(k); !slices.Equal(got, want) {
			t.Fatalf("fields %v, want %v", got, want)
		}
		if k["id"] != created["id"] || k["key_prefix"] != created["key_prefix"] || k["created_by"] != aliceID {
			t.Fatalf("%s", r.Body)
		}
	})

	// curl -X DELETE .../api/v1/workspaces/{id}/api-keys/{keyId} -H "Authorization: Bearer <token>" -H "X-Workspace-ID: <workspace-id>"
	t.Run("revoke answers {\"status\": \"revoked\"}", func(t *testing.T) {
		r := f.seed("DELETE", wsPath(wsID, "/", created["id"].(string)), f.alice, nil)
		testenv.MustBare(t, r, 200, "")
		if string(r.Body) != "{\"status\":\"revoked\"}\n" {
			t.Fatalf("revoke %q", r.Body)
		}
		r = f.seed("GET", wsPath(wsID), f.alice, nil)
		k := r.Array[0].(map[string]any)
		if k["status"] != "revoked" || k["revoked_at"] == nil {
			t.Fatalf("revoked key not listed as revoked: %s", r.Body)
		}
	})
}

func TestWorkspaceMembership(t *testing.T) {
	f := newWorkspace(t, nil)
	r := f.seed("POST", wsPath(wsID), f.alice, map[string]any{"name": "k"})
	testenv.MustBare(t, r, 201, "")
	key, id := r.JSON["key"].(string), r.JSON["id"].(string)
	tok := func(tier, team string) string {
		return testenv.Token(t, f.s, devissuer.Token{Sub: "someone", Tier: tier, TeamID: team})
	}
	cases := []struct {
		name   string
		method string
		path   string
		h      map[string]string
		body   any
		status int
		code   string
	}{
		{"another team's member is 404", "GET", wsPath(wsID), map[string]string{"Authorization": "Bearer " + tok("team", otherWS)}, nil, 404, "NotFound"},
		{"a user with no team is 404", "GET", wsPath(wsID), map[string]string{"Authorization": "Bearer " + tok("enterprise", "")}, nil, 404, "NotFound"},
		{"a pro member is 403", "GET", wsPath(wsID), map[string]string{"Authorization": "Bearer " + tok("pro", wsID)}, nil, 403, "Forbidden"},
		{"a free member is 403", "POST", wsPath(wsID), map[string]string{"Authorization": "Bearer " + tok("free", wsID)}, map[string]any{"name": "x"}, 403, "Forbidden"},
		{"an API key is 403", "GET", wsPath(wsID), map[string]string{"Authorization": "Bearer " + key}, nil, 403, "Forbidden"},
		{"an API key may not create either", "POST", wsPath(wsID), map[string]string{"Authorization": "Bearer " + key}, map[string]any{"name": "x"}, 403, "Forbidden"},
		{"X-Workspace-ID present and different is 400", "GET", wsPath(wsID), map[string]string{"Authorization": "Bearer " + f.alice, "X-Workspace-ID": otherWS}, nil, 400, "BadRequest"},
		{"X-Workspace-ID present and empty is 400", "GET", wsPath(wsID), map[string]string{"Authorization": "Bearer " + f.alice, "X-Workspace-ID": ""}, nil, 400, "BadRequest"},
		{"no X-Workspace-ID is fine", "GET", wsPath(wsID), map[string]string{"Authorization": "Bearer " + f.alice}, nil, 200, ""},
		{"an unknown key id is 404", "DELETE", wsPath(wsID, "/00000000-0000-4000-8000-000000000000"), map[string]string{"Authorization": "Bearer " + f.alice}, nil, 404, "NotFound"},
		{"a key id that is not a UUID is 404", "DELETE", wsPath(wsID, "/not-a-uuid"), map[string]string{"Authorization": "Bearer " + f.alice}, nil, 404, "NotFound"},
		{"the workspace's key through another workspace is 404", "DELETE", wsPath(otherWS, "/", id), map[string]string{"Authorization": "Bearer " + tok("team", otherWS)}, nil, 404, "NotFound"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			testenv.MustBare(t, f.c.DoWith(tc.method, tc.path, tc.h, tc.body), tc.status, tc.code)
		})
	}
	t.Run("no existence oracle: another team's workspace and an unknown one answer identically", func(t *testing.T) {
		outsider := map[string]string{"Authorization": "Bearer " + tok("team", "team-zzz")}
		a := f.c.DoWith("GET", wsPath(wsID), outsider, nil)
		b := f.c.DoWith("GET", wsPath("ws-that-does-not-exist"), outsider, nil)
		if a.Status != b.Status || strings.ReplaceAll(string(a.Body), wsID, "X") != strings.ReplaceAll(string(b.Body), "ws-that-does-not-exist", "X") {
			t.Fatalf("%d %s\n%d %s", a.Status, a.Body, b.Status, b.Body)
		}
	})
}

func TestWorkspaceKeysOutliveTheirCreator(t *testing.T) {
	f := newWorkspace(t, nil)
	r := f.seed("POST", wsPath(wsID), f.alice, map[string]any{"name": "CI", "daily_limit": 3})
	testenv.MustBare(t, r, 201, "")
	key, id, prefix := r.JSON["key"].(string), r.JSON["id"].(string), r.JSON["key_prefix"].(string)

	t.Run("the key authenticates with the same limits and headers as any key", func(t *testing.T) {
		r := f.c.Do("GET", "/v1/usage", testenv.Bearer(key), nil)
		testenv.Must(t, r, 200, "")
		if r.Header.Get("X-RateLimit-Limit") != "3" || r.Header.Get("X-RateLimit-Remaining") != "2" {
			t.Fatalf("%v", r.Header)
		}
		k := r.Data()["keys"].([]any)
		if len(k) != 1 || k[0].(map[string]any)["prefix"] != prefix || k[0].(map[string]any)["used"] != 1.0 {
			t.Fatalf("a workspace key's usage shows that key: %s", r.Body)
		}
	})
	// Alice leaves for another team: her token changes.
	aliceElsewhere := testenv.Token(t, f.s, devissuer.Token{Sub: aliceID, Tier: "team", TeamID: otherWS})
	t.Run("after its creator changed teams the key still works", func(t *testing.T) {
		testenv.Must(t, f.c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 200, "")
		testenv.MustBare(t, f.c.Do("GET", wsPath(wsID), testenv.Bearer(aliceElsewhere), nil), 404, "NotFound")
	})
	t.Run("a member's usage view of the workspace shows its active keys", func(t *testing.T) {
		r := f.c.Do("GET", "/v1/usage?workspace="+wsID, testenv.Bearer(f.bob), nil)
		testenv.Must(t, r, 200, "")
		k := r.Data()["keys"].([]any)
		if len(k) != 1 || k[0].(map[string]any)["prefix"] != prefix || k[0].(map[string]any)["used"] != 2.0 {
			t.Fatalf("%s", r.Body)
		}
		testenv.Must(t, f.c.Do("GET", "/v1/usage?workspace="+wsID, testenv.Bearer(aliceElsewhere), nil), 404, "NotFound")
		testenv.Must(t, f.c.Do("GET", "/v1/usage?workspace="+wsID, testenv.Bearer(key), nil), 403, "Forbidden")
	})
	t.Run("member B lists it with A as its creator and revokes it; the next request is 401", func(t *testing.T) {
		r := f.c.Do("GET", wsPath(wsID), testenv.Bearer(f.bob), nil)
		testenv.MustBare(t, r, 200, "")
		if len(r.Array) != 1 || r.Array[0].(map[string]any)["created_by"] != aliceID {
			t.Fatalf("%s", r.Body)
		}
		testenv.MustBare(t, f.c.Do("DELETE", wsPath(wsID, "/", id), testenv.Bearer(f.bob), nil), 200, "")
		testenv.Must(t, f.c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 401, "Unauthorized")
		testenv.MustBare(t, f.c.Do("DELETE", wsPath(wsID, "/", id), testenv.Bearer(f.bob), nil), 404, "NotFound")
	})
	t.Run("a personal key is not a workspace key and the reverse", func(t *testing.T) {
		p := testenv.Token(t, f.s, devissuer.Token{Sub: bobID, Tier: "enterprise", TeamID: wsID})
		_, personal := f.c.CreateKey(p, map[string]any{"name": "mine"})
		r := f.c.Do("GET", wsPath(wsID), testenv.Bearer(f.bob), nil)
		for _, k := range r.Array {
			if k.(map[string]any)["key_prefix"] == personal {
				t.Fatalf("a personal key is listed in the workspace: %s", r.Body)
			}
		}
	})
}

func TestWorkspaceBodies(t *testing.T) {
	f := newWorkspace(t, nil)
	cases := []struct {
		name, body, field string
	}{
		{"bad JSON is 400", `{"name": `, "JSON"},
		{"an unknown field is 400 and named", `{"name":"a","scopes":["all"]}`, "'scopes'"},
		{"camelCase dailyLimit is not a field of this surface", `{"name":"a","dailyLimit":5}`, "'dailyLimit'"},
		{"an empty name is 400 and named", `{"name":"   "}`, "'name'"},
		{"a missing name is 400 and named", `{"daily_limit":5}`, "'name'"},
		{"a duplicated member is 400 and named", `{"name":"a","name":"b"}`, "'name'"},
		{"daily_limit below 1 names daily_limit", `{"name":"a","daily_limit":0}`, "'daily_limit'"},
		{"daily_limit of the wrong type names daily_limit", `{"name":"a","daily_limit":"5"}`, "'daily_limit'"},
		{"expires_at in the past names expires_at", `{"name":"a","expires_at":"2020-01-01T00:00:00Z"}`, "'expires_at'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.seed("POST", wsPath(wsID), f.alice, tc.body)
			testenv.MustBare(t, r, 400, "BadRequest")
			if !strings.Contains(r.Message(), tc.field) {
				t.Fatalf("message %q does not name %s", r.Message(), tc.field)
			}
		})
	}
	t.Run("daily_limit and expires_at are taken in snake_case", func(t *testing.T) {
		r := f.seed("POST", wsPath(wsID), f.alice, map[string]any{"name": "a", "daily_limit": 1000, "expires_at": "2027-01-01T00:00:00Z"})
		testenv.MustBare(t, r, 201, "")
		if r.JSON["daily_limit"] != 1000.0 || r.JSON["expires_at"] != "2027-01-01T00:00:00Z" {
			t.Fatalf("%s", r.Body)
		}
	})
}

func TestWorkspaceCap(t *testing.T) {
	f := newWorkspace(t, map[string]string{"KEYGATE_MAX_WORKSPACE_KEYS": "4"})
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    testenv.Errs
		counted = map[int]int{}
	)
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := f.alice
			if i%2 == 1 {
				tok = f.bob
			}
			r, err := f.c.Try("POST", wsPath(wsID), map[string]string{"Authorization": testenv.Bearer(tok)}, map[string]any{"name": fmt.Sprintf("k%d", i)})
			if err != nil {
				errs.Add(err)
				return
			}
			mu.Lock()
			counted[r.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	errs.Check(t)
	if counted[201] != 4 || counted[403] != 8 {
		t.Fatalf("concurrent creates by two members: %v, want exactly 4×201 and 8×403", counted)
	}
	r := f.c.Do("POST", wsPath(wsID), testenv.Bearer(f.alice), map[string]any{"name": "one more"})
	testenv.MustBare(t, r, 403, "Forbidden")
	if !strings.Contains(r.Message(), "4") {
		t.Fatalf("the message does not say the cap: %q", r.Message())
	}
	t.Run("the workspace cap is its own, not the members'", func(t *testing.T) {
		c, _ := f.c.CreateKey(f.alice, map[string]any{"name": "personal"})
		if c == "" {
			t.Fatal("no personal key")
		}
	})
}

func TestWorkspaceRotation(t *testing.T) {
	f := newWorkspace(t, nil)
	r := f.seed("POST", wsPath(wsID), f.alice, map[string]any{"name": "deploy", "daily_limit": 10})
	testenv.MustBare(t, r, 201, "")
	oldKey, oldID := r.JSON["key"].(string), r.JSON["id"].(string)
	for range 4 {
		testenv.Must(t, f.c.Do("GET", "/v1/usage", testenv.Bearer(oldKey), nil), 200, "")
	}
	r = f.seed("POST", wsPath(wsID, "/", oldID, "/rotate"), f.bob, map[string]any{"grace_period_seconds": 60})
	testenv.MustBare(t, r, 201, "")
	newKey := r.JSON["key"].(string)
	if r.JSON["rotated_from"] != oldID || r.JSON["name"] != "deploy" || r.JSON["daily_limit"] != 10.0 || r.JSON["created_by"] != bobID {
		t.Fatalf("rotate %s", r.Body)
	}
	u := f.c.Do("GET", "/v1/usage", testenv.Bearer(newKey), nil)
	testenv.Must(t, u, 200, "")
	if u.Header.Get("X-RateLimit-Remaining") != "5" {
		t.Fatalf("the successor starts on the shared budget: %v", u.Header)
	}
	testenv.MustBare(t, f.seed("POST", wsPath(wsID, "/", oldID, "/rotate"), f.bob, nil), 409, "Conflict")
	r = f.seed("GET", wsPath(wsID), f.alice, nil)
	for _, k := range r.Array {
		k := k.(map[string]any)
		if k["id"] == oldID && k["rotated_to"] != r.Array[0].(map[string]any)["id"] {
			t.Fatalf("rotated_to: %s", r.Body)
		}
	}
	t.Run("snake_case grace only", func(t *testing.T) {
		r := f.seed("POST", wsPath(wsID, "/", r.Array[0].(map[string]any)["id"].(string), "/rotate"), f.bob, map[string]any{"gracePeriodSeconds": 5})
		testenv.MustBare(t, r, 400, "BadRequest")
	})
}
