package e2e

import (
	"encoding/base64"
	"encoding/json"
	"strings"
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

	// timed is a pro user's claims with exp as written.
	timed := func(exp string) string {
		return `{"iss":"` + s.Issuer.URL + `","token_use":"access","client_id":"` + s.Issuer.ClientID + `","sub":"strict","custom:tier":"pro","exp":` + exp + `}`
	}

	cases := []errorCase{
		// Time claims: plain integer seconds of years 1970-9999, else 401
		// (never a 5xx for a token the gateway would then cache).
		{"exp 1e19 is 401", "GET", "/v1/api-keys", "Bearer " + raw(timed("1e19")), nil, 401, "Unauthorized", ""},
		{"exp 1e300 is 401", "GET", "/v1/api-keys", "Bearer " + raw(timed("1e300")), nil, 401, "Unauthorized", ""},
		{"exp in year 10000 is 401", "GET", "/v1/api-keys", "Bearer " + raw(timed("253402300800")), nil, 401, "Unauthorized", ""},
		{"a fractional exp is 401", "GET", "/v1/api-keys", "Bearer " + raw(timed("1900000000.5")), nil, 401, "Unauthorized", ""},
		{"exp in year 9999 is fine", "GET", "/v1/api-keys", "Bearer " + raw(timed("253402300799")), nil, 200, "", ""},
		// Strings in claims: valid UTF-8, no unpaired surrogate escape.
		{"a sub with a raw 0xff byte is 401", "GET", "/v1/api-keys", "Bearer " + raw(claims(",\"sub\":\"ab\xffcd\"")), nil, 401, "Unauthorized", ""},
		{"a sub with a lone surrogate escape is 401", "GET", "/v1/api-keys", "Bearer " + raw(claims(`,"sub":"ab\ud800cd"`)), nil, 401, "Unauthorized", ""},
		{"a custom:teamId with a raw 0xfe byte is 401", "GET", "/v1/api-keys", "Bearer " + raw(claims(",\"sub\":\"strict\",\"custom:teamId\":\"t\xfe\"")), nil, 401, "Unauthorized", ""},
		{"a custom:teamId with a lone surrogate escape is 401", "GET", "/v1/api-keys", "Bearer " + raw(claims(`,"sub":"strict","custom:teamId":"\udc00"`)), nil, 401, "Unauthorized", ""},
		{"a sub with an escaped surrogate pair is fine", "GET", "/v1/api-keys", "Bearer " + raw(claims(`,"sub":"strict-\ud83d\ude00"`)), nil, 200, "", ""},
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

// TestNumbersOutOfRangeAre400 sends numbers that do not fit their field, on
// both surfaces: each is 400 naming the field as the caller spelled it,
// checked as an integer before any arithmetic (a grace period of 9223372037
// seconds once overflowed a time.Duration into a grace ending in 1734).
func TestNumbersOutOfRangeAre400(t *testing.T) {
	s := testenv.Stack(t, testenv.Options{})
	c := testenv.NewClient(t, s)
	pro := testenv.Token(t, s, devissuer.Token{Sub: "numbers", Tier: "pro"})
	team := testenv.Token(t, s, devissuer.Token{Sub: "numbers-ws", Tier: "team", TeamID: "numbers"})
	huge := []string{
		"86401",                // one second past the maximum
		"9223372037",           // * 1e9 overflows int64 nanoseconds
		"18446744074",          // * 1e9 wraps past 2^64
		"9223372036854775807",  // 2^63-1
		"9223372036854775808",  // 2^63: does not fit an int64
		"-9223372036854775808", // -2^63
		"1e3",                  // an exponent
		"3600.5",               // a fraction
		"3600.0",               // a fraction, however round
		"1E400",                // beyond float64
	}
	for _, n := range huge {
		t.Run("gracePeriodSeconds "+n+" is 400 naming it", func(t *testing.T) {
			_, prefix := c.CreateKey(pro, map[string]any{"name": "g"})
			r := c.Do("POST", "/v1/api-keys/"+prefix+"/rotate", testenv.Bearer(pro), `{"gracePeriodSeconds":`+n+`}`)
			testenv.Must(t, r, 400, "BadRequest")
			if !strings.Contains(r.Message(), "'gracePeriodSeconds'") {
				t.Fatalf("message %q does not name gracePeriodSeconds", r.Message())
			}
		})
		t.Run("grace_period_seconds "+n+" is 400 naming it", func(t *testing.T) {
			r := c.DoWith("POST", "/api/v1/workspaces/numbers/api-keys", map[string]string{"Authorization": testenv.Bearer(team)}, map[string]any{"name": "g"})
			testenv.MustBare(t, r, 201, "")
			id, _ := r.JSON["id"].(string)
			r = c.Do("POST", "/api/v1/workspaces/numbers/api-keys/"+id+"/rotate", testenv.Bearer(team), `{"grace_period_seconds":`+n+`}`)
			testenv.MustBare(t, r, 400, "BadRequest")
			if !strings.Contains(r.Message(), "'grace_period_seconds'") {
				t.Fatalf("message %q does not name grace_period_seconds", r.Message())
			}
		})
	}
	for _, n := range []string{"9223372036854775808", "1e3", "2.5", "1E400", "-0.0"} {
		t.Run("dailyLimit "+n+" is 400 naming it", func(t *testing.T) {
			r := c.Do("POST", "/v1/api-keys", testenv.Bearer(pro), `{"name":"d","dailyLimit":`+n+`}`)
			testenv.Must(t, r, 400, "BadRequest")
			if !strings.Contains(r.Message(), "'dailyLimit'") {
				t.Fatalf("message %q does not name dailyLimit", r.Message())
			}
		})
		t.Run("daily_limit "+n+" is 400 naming it", func(t *testing.T) {
			r := c.Do("POST", "/api/v1/workspaces/numbers/api-keys", testenv.Bearer(team), `{"name":"d","daily_limit":`+n+`}`)
			testenv.MustBare(t, r, 400, "BadRequest")
			if !strings.Contains(r.Message(), "'daily_limit'") {
				t.Fatalf("message %q does not name daily_limit", r.Message())
			}
		})
	}
	t.Run("a huge dailyLimit that fits an integer is over the cap: 403 naming it", func(t *testing.T) {
		r := c.Do("POST", "/v1/api-keys", testenv.Bearer(pro), `{"name":"d","dailyLimit":9223372036854775807}`)
		testenv.Must(t, r, 403, "Forbidden")
		if !strings.Contains(r.Message(), "'dailyLimit'") {
			t.Fatalf("message %q does not name dailyLimit", r.Message())
		}
	})
	t.Run("days of 10 digits is 400 naming it", func(t *testing.T) {
		testenv.Must(t, c.Do("GET", "/v1/usage?days=9223372037", testenv.Bearer(pro), nil), 400, "BadRequest")
	})
	t.Run("the largest grace is still accepted", func(t *testing.T) {
		_, prefix := c.CreateKey(pro, map[string]any{"name": "g"})
		testenv.Must(t, c.Do("POST", "/v1/api-keys/"+prefix+"/rotate", testenv.Bearer(pro), `{"gracePeriodSeconds":86400}`), 201, "")
	})
}

// TestInvalidUTF8InBodiesIs400 sends, to every JSON route of both surfaces,
// strings that encoding/json would silently rewrite to U+FFFD (a raw 0xff
// byte, an unpaired surrogate escape): each is 400 naming the field, and
// nothing is created or changed.
func TestInvalidUTF8InBodiesIs400(t *testing.T) {
	s := testenv.Stack(t, testenv.Options{})
	c := testenv.NewClient(t, s)
	pro := testenv.Token(t, s, devissuer.Token{Sub: "utf8", Tier: "pro"})
	team := testenv.Token(t, s, devissuer.Token{Sub: "utf8-ws", Tier: "team", TeamID: "utf8"})
	_, prefix := c.CreateKey(pro, map[string]any{"name": "k"})
	r := c.Do("POST", "/api/v1/workspaces/utf8/api-keys", testenv.Bearer(team), map[string]any{"name": "w"})
	testenv.MustBare(t, r, 201, "")
	wsKeyID, _ := r.JSON["id"].(string)

	bad := []struct{ what, name string }{
		{"a raw 0xff byte", "ab\xffcd"},
		{"a lone high surrogate escape", `ab\ud800cd`},
		{"a lone low surrogate escape", `\udc00`},
	}
	for _, b := range bad {
		name := `"name":"` + b.name + `"`
		expires := `"expiresAt":"2027-01-01T00:00:00Z` + b.name + `"`
		cases := []errorCase{
			{"create with " + b.what + " in name is 400", "POST", "/v1/api-keys", testenv.Bearer(pro), "{" + name + "}", 400, "BadRequest", "'name'"},
			{"rename with " + b.what + " is 400", "PATCH", "/v1/api-keys/" + prefix, testenv.Bearer(pro), "{" + name + "}", 400, "BadRequest", "'name'"},
			{"patch with " + b.what + " in expiresAt is 400", "PATCH", "/v1/api-keys/" + prefix, testenv.Bearer(pro), "{" + expires + "}", 400, "BadRequest", "'expiresAt'"},
			{"rotate with " + b.what + " in expiresAt is 400", "POST", "/v1/api-keys/" + prefix + "/rotate", testenv.Bearer(pro), "{" + expires + "}", 400, "BadRequest", "'expiresAt'"},
			{"create with " + b.what + " in an unknown field is 400", "POST", "/v1/api-keys", testenv.Bearer(pro), `{"name":"ok","x":"` + b.name + `"}`, 400, "BadRequest", "'x'"},
		}
		runErrorCases(t, c, cases)
		t.Run("workspace create with "+b.what+" in name is 400", func(t *testing.T) {
			r := c.Do("POST", "/api/v1/workspaces/utf8/api-keys", testenv.Bearer(team), "{"+name+"}")
			testenv.MustBare(t, r, 400, "BadRequest")
			if !strings.Contains(r.Message(), "'name'") {
				t.Fatalf("message %q does not name the field", r.Message())
			}
		})
		t.Run("workspace rotate with "+b.what+" in expires_at is 400", func(t *testing.T) {
			r := c.Do("POST", "/api/v1/workspaces/utf8/api-keys/"+wsKeyID+"/rotate", testenv.Bearer(team), `{"expires_at":"`+b.name+`"}`)
			testenv.MustBare(t, r, 400, "BadRequest")
			if !strings.Contains(r.Message(), "'expires_at'") {
				t.Fatalf("message %q does not name the field", r.Message())
			}
		})
	}
	t.Run("nothing was created or renamed", func(t *testing.T) {
		r := c.Do("GET", "/v1/api-keys", testenv.Bearer(pro), nil)
		testenv.Must(t, r, 200, "")
		keys, _ := r.Data()["keys"].([]any)
		if len(keys) != 1 || keys[0].(map[string]any)["name"] != "k" {
			t.Fatalf("keys after the refusals: %s", r.Body)
		}
	})
	t.Run("an escaped surrogate pair is a character, not an error", func(t *testing.T) {
		r := c.Do("POST", "/v1/api-keys", testenv.Bearer(pro), `{"name":"ok \ud83d\ude00"}`)
		testenv.Must(t, r, 201, "")
		if r.Data()["name"] != "ok 😀" {
			t.Fatalf("name %q", r.Data()["name"])
		}
	})
}
