package e2e

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
)

// TestStrictParsing walks each input the contract says to refuse, through
// the local gateway as a client sends it.
func TestStrictParsing(t *testing.T) {
	s := testenv.Stack(t, testenv.Options{})
	c := testenv.NewClient(t, s)
	pro := testenv.Token(t, s, devissuer.Token{Sub: "strict", Tier: "pro"})
	key, _ := c.CreateKey(pro, map[string]any{"name": "k"})

	// raw signs a claims payload written as JSON text with the dev issuer's
	// key, so it can say what a map cannot.
	raw := func(payload string) string {
		h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": s.Issuer.KID})
		in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
		sig, err := jwt.SigningMethodRS256.Sign(in, s.Issuer.Key)
		if err != nil {
			t.Fatal(err)
		}
		return in + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	claims := func(extra string) string {
		cl := s.Issuer.Claims(devissuer.Token{Sub: "placeholder"})
		return `{"iss":"` + s.Issuer.URL + `","token_use":"access","client_id":"` + s.Issuer.ClientID + `","exp":` +
			jsonInt(cl["exp"]) + `,"iat":` + jsonInt(cl["iat"]) + extra + `}`
	}

	cases := []errorCase{
		// Authorization: only ASCII space and tab are whitespace.
		{"a trailing no-break space after the key is 401", "GET", "/v1/usage", "Bearer " + key + "\u00a0", nil, 401, "Unauthorized", ""},
		{"a no-break space as the separator is 401", "GET", "/v1/usage", "Bearer\u00a0" + key, nil, 401, "Unauthorized", ""},
		{"an em space after the key is 401", "GET", "/v1/usage", "Bearer " + key + "\u2003", nil, 401, "Unauthorized", ""},
		{"tabs around are whitespace", "GET", "/v1/usage", "\tBearer\t" + key + "\t", nil, 200, "", ""},
		// Claims: exact names, no duplicates.
		{"SUB is not sub", "GET", "/v1/api-keys", "Bearer " + raw(claims(`,"SUB":"strict","custom:tier":"pro"`)), nil, 401, "Unauthorized", ""},
		{"Custom:Tier is not custom:tier: the user is free and may not create", "POST", "/v1/api-keys",
			"Bearer " + raw(claims(`,"sub":"strict","Custom:Tier":"enterprise"`)), map[string]any{"name": "x"}, 403, "Forbidden", "Pro tier"},
		{"a duplicated claim is 401", "GET", "/v1/api-keys", "Bearer " + raw(claims(`,"sub":"strict","custom:tier":"free","custom:tier":"pro"`)), nil, 401, "Unauthorized", ""},
		{"a duplicated sub is 401", "GET", "/v1/api-keys", "Bearer " + raw(claims(`,"sub":"strict","sub":"admin"`)), nil, 401, "Unauthorized", ""},
		// JSON bodies: a member named twice.
		{"a duplicated member is 400 naming it", "POST", "/v1/api-keys", "Bearer " + pro, `{"name":"a","name":"b"}`, 400, "BadRequest", "'name'"},
		{"a duplicated dailyLimit is 400 naming it", "POST", "/v1/api-keys", "Bearer " + pro, `{"name":"a","dailyLimit":1,"dailyLimit":100000}`, 400, "BadRequest", "'dailyLimit'"},
		// Names with nothing visible.
		{"a name of Braille blanks is 400", "POST", "/v1/api-keys", "Bearer " + pro, map[string]any{"name": "\u2800\u2800\u2800"}, 400, "BadRequest", "'name'"},
		{"a name of a Hangul filler is 400", "POST", "/v1/api-keys", "Bearer " + pro, map[string]any{"name": "\u3164"}, 400, "BadRequest", "'name'"},
		{"a name of a line separator is 400", "POST", "/v1/api-keys", "Bearer " + pro, map[string]any{"name": "\u2028"}, 400, "BadRequest", "'name'"},
		{"a line separator inside a name is 400", "POST", "/v1/api-keys", "Bearer " + pro, map[string]any{"name": "a\u2028b"}, 400, "BadRequest", "'name'"},
		{"a rename to blanks is 400", "PATCH", "/v1/api-keys/" + key[:17], "Bearer " + pro, map[string]any{"name": "\u2800"}, 400, "BadRequest", "'name'"},
		// Numbers in queries are plain decimal.
		{"days=05 is 400", "GET", "/v1/usage?days=05", "Bearer " + pro, nil, 400, "BadRequest", "'days'"},
		{"days=+5 is 400", "GET", "/v1/usage?days=%2B5", "Bearer " + pro, nil, 400, "BadRequest", "'days'"},
		{"days=5.0 is 400", "GET", "/v1/usage?days=5.0", "Bearer " + pro, nil, 400, "BadRequest", "'days'"},
		{"days=1e1 is 400", "GET", "/v1/usage?days=1e1", "Bearer " + pro, nil, 400, "BadRequest", "'days'"},
		{"days=0x5 is 400", "GET", "/v1/usage?days=0x5", "Bearer " + pro, nil, 400, "BadRequest", "'days'"},
		{"days= (empty) is 400", "GET", "/v1/usage?days=", "Bearer " + pro, nil, 400, "BadRequest", "'days'"},
		{"days=5 is fine", "GET", "/v1/usage?days=5", "Bearer " + pro, nil, 200, "", ""},
	}
	runErrorCases(t, c, cases)
}

func jsonInt(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
