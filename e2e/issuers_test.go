package e2e

import (
	"net/http/httptest"
	"testing"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/local/devstack"
)

// TestIdentitiesArePerIssuer: with two trusted issuers, a user is (issuer,
// sub) and a workspace (issuer, teamId). A second pool's user with the same
// sub, or a member of a team with the same id, sees and touches nothing of
// the first pool's.
func TestIdentitiesArePerIssuer(t *testing.T) {
	other, err := devissuer.New(devstack.DefaultClientID)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(other.Handler())
	t.Cleanup(srv.Close)
	other.URL = srv.URL
	s := testenv.Stack(t, testenv.Options{ExtraIssuers: []string{srv.URL},
		Env: map[string]string{"KEYGATE_CLIENT_IDS": devstack.DefaultClientID}})
	other.Now = s.App.Clock.Now
	c := testenv.NewClient(t, s)
	mint := func(iss *devissuer.Issuer, tok devissuer.Token) string {
		v, err := iss.Mint(tok)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	// The first pool's team "acme" and user "alice" own a key each.
	member := testenv.Token(t, s, devissuer.Token{Sub: "m1", Tier: "team", TeamID: "acme"})
	r := c.Do("POST", "/api/v1/workspaces/acme/api-keys", testenv.Bearer(member), map[string]any{"name": "team key"})
	testenv.MustBare(t, r, 201, "")
	teamKeyID := r.JSON["id"].(string)
	alice := testenv.Token(t, s, devissuer.Token{Sub: "alice", Tier: "pro"})
	_, alicePrefix := c.CreateKey(alice, map[string]any{"name": "alice's"})

	intruder := mint(other, devissuer.Token{Sub: "m2", Tier: "team", TeamID: "acme"})
	t.Run("a team of another pool with the same id is another workspace", func(t *testing.T) {
		r := c.Do("GET", "/api/v1/workspaces/acme/api-keys", testenv.Bearer(intruder), nil)
		testenv.MustBare(t, r, 200, "")
		if len(r.Array) != 0 {
			t.Fatalf("the other pool's acme sees the first's keys: %s", r.Body)
		}
		testenv.Must(t, c.Do("DELETE", "/api/v1/workspaces/acme/api-keys/"+teamKeyID, testenv.Bearer(intruder), nil), 404, "NotFound")
		testenv.Must(t, c.Do("GET", "/v1/usage?workspace=acme", testenv.Bearer(intruder), nil), 200, "")
	})
	t.Run("a user of another pool with the same sub is another user", func(t *testing.T) {
		twin := mint(other, devissuer.Token{Sub: "alice", Tier: "pro"})
		r := c.Do("GET", "/v1/api-keys", testenv.Bearer(twin), nil)
		testenv.Must(t, r, 200, "")
		if len(r.Data()["keys"].([]any)) != 0 {
			t.Fatalf("the twin sees alice's keys: %s", r.Body)
		}
		testenv.Must(t, c.Do("DELETE", "/v1/api-keys/"+alicePrefix, testenv.Bearer(twin), nil), 404, "NotFound")
		// Each has their own key slots and keys.
		c.CreateKey(twin, map[string]any{"name": "twin's"})
		r = c.Do("GET", "/v1/api-keys", testenv.Bearer(alice), nil)
		if keys := r.Data()["keys"].([]any); len(keys) != 1 || keys[0].(map[string]any)["name"] != "alice's" {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("the first pool's member still manages the team's key", func(t *testing.T) {
		testenv.MustBare(t, c.Do("DELETE", "/api/v1/workspaces/acme/api-keys/"+teamKeyID, testenv.Bearer(member), nil), 200, "")
	})
}
