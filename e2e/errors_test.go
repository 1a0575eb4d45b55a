package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
)

// TestErrorTable walks every row of the contract's error table that the
// service core answers, through the local gateway over HTTP.
func TestErrorTable(t *testing.T) {
	s := testenv.Stack(t, testenv.Options{Env: map[string]string{"KEYGATE_MAX_ACTIVE_KEYS": "50"}})
	c := testenv.NewClient(t, s)
	pro := testenv.Token(t, s, devissuer.Token{Sub: "owner", Tier: "pro"})
	other := testenv.Token(t, s, devissuer.Token{Sub: "stranger", Tier: "enterprise"})
	free := testenv.Token(t, s, devissuer.Token{Sub: "freeloader"})
	key, prefix := c.CreateKey(pro, map[string]any{"name": "main"})
	revokedKey, revokedPrefix := c.CreateKey(pro, map[string]any{"name": "old"})
	testenv.Must(t, c.Do("DELETE", "/v1/api-keys/"+revokedPrefix, testenv.Bearer(pro), nil), 200, "")
	_, strangerPrefix := c.CreateKey(other, map[string]any{"name": "theirs"})
	expiredClaims := s.Issuer.Claims(devissuer.Token{Sub: "owner", Tier: "pro"})
	expiredClaims["exp"] = s.App.Clock.Now().Add(-2 * time.Minute).Unix()
	expired, err := s.Issuer.Sign(expiredClaims)
	if err != nil {
		t.Fatal(err)
	}

	long := strings.Repeat("n", 101)
	cases := []errorCase{
		{"missing header is 401", "GET", "/v1/api-keys", "", nil, 401, "Unauthorized", ""},
		{"garbled header is 401", "GET", "/v1/api-keys", "Bearer", nil, 401, "Unauthorized", ""},
		{"two credentials are 401", "GET", "/v1/api-keys", "Bearer a b", nil, 401, "Unauthorized", ""},
		{"wrong scheme is 401", "GET", "/v1/api-keys", "Basic " + key, nil, 401, "Unauthorized", ""},
		{"token scheme is 401", "GET", "/v1/api-keys", "Token " + pro, nil, 401, "Unauthorized", ""},
		{"malformed key is 401", "GET", "/v1/usage", "Bearer csk_live_abc", nil, 401, "Unauthorized", ""},
		{"uppercase key is 401", "GET", "/v1/usage", "Bearer " + strings.ToUpper(key), nil, 401, "Unauthorized", ""},
		{"unknown key is 401", "GET", "/v1/usage", "Bearer csk_live_00000000000000000000000000000000", nil, 401, "Unauthorized", ""},
		{"wrong secret is 401", "GET", "/v1/usage", "Bearer " + prefix + strings.Repeat("0", 24), nil, 401, "Unauthorized", ""},
		{"revoked key is 401", "GET", "/v1/usage", "Bearer " + revokedKey, nil, 401, "Unauthorized", ""},
		{"expired token is 401", "GET", "/v1/api-keys", "Bearer " + expired, nil, 401, "Unauthorized", ""},
		{"garbage token is 401", "GET", "/v1/api-keys", "Bearer eyJhbGciOi.x.y", nil, 401, "Unauthorized", ""},
		{"lowercase bearer scheme works", "GET", "/v1/api-keys", "bearer " + pro, nil, 200, "", ""},
		{"key used to list keys is 403", "GET", "/v1/api-keys", "Bearer " + key, nil, 403, "Forbidden", "not an API key"},
		{"key used to create a key is 403", "POST", "/v1/api-keys", "Bearer " + key, map[string]any{"name": "x"}, 403, "Forbidden", "not an API key"},
		{"key used to revoke is 403", "DELETE", "/v1/api-keys/" + prefix, "Bearer " + key, nil, 403, "Forbidden", "not an API key"},
		{"key used to patch is 403", "PATCH", "/v1/api-keys/" + prefix, "Bearer " + key, map[string]any{"name": "x"}, 403, "Forbidden", "not an API key"},
		{"free tier create is 403", "POST", "/v1/api-keys", "Bearer " + free, map[string]any{"name": "x"}, 403, "Forbidden", "Pro tier"},
		{"free tier may still list (a downgraded user sees their keys)", "GET", "/v1/api-keys", "Bearer " + free, nil, 200, "", ""},
		{"foreign prefix revoke is 404", "DELETE", "/v1/api-keys/" + strangerPrefix, "Bearer " + pro, nil, 404, "NotFound", ""},
		{"foreign prefix patch is 404", "PATCH", "/v1/api-keys/" + strangerPrefix, "Bearer " + pro, map[string]any{"name": "mine"}, 404, "NotFound", ""},
		{"unknown prefix is 404", "DELETE", "/v1/api-keys/csk_live_ffffffff", "Bearer " + pro, nil, 404, "NotFound", ""},
		{"not a prefix is 404", "DELETE", "/v1/api-keys/nonsense", "Bearer " + pro, nil, 404, "NotFound", ""},
		{"unknown route is 404", "GET", "/v1/nothing", "Bearer " + pro, nil, 404, "NotFound", ""},
		{"bad JSON is 400", "POST", "/v1/api-keys", "Bearer " + pro, `{"name": `, 400, "BadRequest", "JSON"},
		{"not an object is 400", "POST", "/v1/api-keys", "Bearer " + pro, `["name"]`, 400, "BadRequest", ""},
		{"trailing data is 400", "POST", "/v1/api-keys", "Bearer " + pro, `{"name":"a"} {}`, 400, "BadRequest", ""},
		{"empty body is 400", "POST", "/v1/api-keys", "Bearer " + pro, "", 400, "BadRequest", ""},
		{"unknown field is 400", "POST", "/v1/api-keys", "Bearer " + pro, map[string]any{"name": "a", "scopes": "all"}, 400, "BadRequest", "'scopes'"},
		{"missing name is 400", "POST", "/v1/api-keys", "Bearer " + pro, map[string]any{"dailyLimit": 5}, 400, "BadRequest", "'name'"},
		{"empty name is 400", "POST", "/v1/api-keys", "Bearer " + pro, map[string]any{"name": "   "}, 400, "BadRequest", "'name'"},
		{"long name is 400", "POST", "/v1/api-keys", "Bearer " + pro, map[string]any{"name": long}, 400, "BadRequest", "'name'"},
		{"control character in name is 400", "POST", "/v1/api-keys", "Bearer " + pro, map[string]any{"name": "a\x07b"}, 400, "BadRequest", "'name'"},
		{"name of wrong type is 400", "POST", "/v1/api-keys", "Bearer " + pro, map[string]any{"name": 7}, 400, "BadRequest", "'name'"},
		{"zero dailyLimit is 400", "POST", "/v1/api-keys", "Bearer " + pro, map[string]any{"name": "a", "dailyLimit": 0}, 400, "BadRequest", "'dailyLimit'"},
		{"dailyLimit over the tier cap is 403", "POST", "/v1/api-keys", "Bearer " + pro, map[string]any{"name": "a", "dailyLimit": 10001}, 403, "Forbidden", "'dailyLimit'"},
		{"patch over the tier cap is 403", "PATCH", "/v1/api-keys/" + prefix, "Bearer " + pro, map[string]any{"dailyLimit": 10001}, 403, "Forbidden", "'dailyLimit'"},
		{"fractional dailyLimit is 400", "POST", "/v1/api-keys", "Bearer " + pro, `{"name":"a","dailyLimit":1.5}`, 400, "BadRequest", "'dailyLimit'"},
		{"string dailyLimit is 400", "POST", "/v1/api-keys", "Bearer " + pro, `{"name":"a","dailyLimit":"5"}`, 400, "BadRequest", "'dailyLimit'"},
		{"empty patch is 400", "PATCH", "/v1/api-keys/" + prefix, "Bearer " + pro, `{}`, 400, "BadRequest", ""},
		{"patch out-of-range dailyLimit is 400", "PATCH", "/v1/api-keys/" + prefix, "Bearer " + pro, map[string]any{"dailyLimit": -1}, 400, "BadRequest", "'dailyLimit'"},
		{"body over 16 KiB is 400", "POST", "/v1/api-keys", "Bearer " + pro, `{"name":"a","x":"` + strings.Repeat("x", 16<<10) + `"}`, 400, "BadRequest", "16 KiB"},
		{"body over API Gateway's 10 MB is 413", "POST", "/v1/api-keys", "Bearer " + pro, strings.Repeat("x", 10<<20+1), 413, "PayloadTooLarge", "10 MB"},
		{"bad status filter is 400", "GET", "/v1/api-keys?status=bogus", "Bearer " + pro, nil, 400, "BadRequest", "'status'"},
		{"bad days is 400", "GET", "/v1/usage?days=91", "Bearer " + pro, nil, 400, "BadRequest", "'days'"},
		{"non-numeric days is 400", "GET", "/v1/usage?days=week", "Bearer " + key, nil, 400, "BadRequest", "'days'"},
	}
	runErrorCases(t, c, cases)

	t.Run("51st active key is 403 and a revoked slot frees one", func(t *testing.T) {
		tok := testenv.Token(t, s, devissuer.Token{Sub: "hoarder", Tier: "enterprise"})
		var prefixes []string
		for i := range 50 {
			_, p := c.CreateKey(tok, map[string]any{"name": fmt.Sprintf("k%d", i)})
			prefixes = append(prefixes, p)
		}
		r := c.Do("POST", "/v1/api-keys", testenv.Bearer(tok), map[string]any{"name": "one too many"})
		testenv.Must(t, r, 403, "Forbidden")
		if !strings.Contains(r.Message(), "50") {
			t.Errorf("message %q does not say the cap", r.Message())
		}
		testenv.Must(t, c.Do("DELETE", "/v1/api-keys/"+prefixes[0], testenv.Bearer(tok), nil), 200, "")
		c.CreateKey(tok, map[string]any{"name": "replacement"})
	})
}

// errorCase is one request and the error answer it must get: the status, the
// envelope's code and, when msgHas is set, a part of its message.
type errorCase struct {
	name         string
	method, path string
	auth         string
	body         any
	status       int
	code, msgHas string
}

func runErrorCases(t *testing.T, c *testenv.Client, cases []errorCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do(tc.method, tc.path, tc.auth, tc.body)
			testenv.Must(t, r, tc.status, tc.code)
			if tc.msgHas != "" && !strings.Contains(r.Message(), tc.msgHas) {
				t.Fatalf("message %q does not mention %q", r.Message(), tc.msgHas)
			}
		})
	}
}
