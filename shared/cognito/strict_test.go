package cognito_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/shared/cognito"
	"github.com/keygate/keygate/shared/principal"
)

// signRaw signs a payload given as raw JSON text, which can say what a map
// cannot (a claim twice, a name in another case).
func signRaw(t *testing.T, iss *devissuer.Issuer, payload string) string {
	t.Helper()
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": iss.KID})
	input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	sig, err := jwt.SigningMethodRS256.Sign(input, iss.Key)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestClaimsAreReadStrictly(t *testing.T) {
	f := newFixture(t, cognito.Options{UnknownKIDRefresh: time.Hour})
	base := func(extra string) string {
		return `{"iss":"` + f.iss.URL + `","token_use":"access","client_id":"` + clientID + `","exp":` +
			jsonNum(now.Add(time.Hour).Unix()) + `,"iat":` + jsonNum(now.Unix()) + extra + `}`
	}
	tests := []struct {
		name    string
		payload string
		want    principal.Principal // zero: refused
	}{
		{"exact names are read", base(`,"sub":"u","custom:tier":"pro","custom:teamId":"t"`),
			principal.Principal{Sub: "u", Tier: principal.Pro, TeamID: "t", Method: principal.ViaJWT}},
		{"SUB is not sub: no subject, refused", base(`,"SUB":"u"`), principal.Principal{}},
		{"Custom:Tier is not custom:tier: free", base(`,"sub":"u","Custom:Tier":"enterprise"`),
			principal.Principal{Sub: "u", Tier: principal.Free, Method: principal.ViaJWT}},
		{"CUSTOM:TEAMID is not custom:teamId", base(`,"sub":"u","CUSTOM:TEAMID":"t"`),
			principal.Principal{Sub: "u", Tier: principal.Free, Method: principal.ViaJWT}},
		{"a claim twice is refused", base(`,"sub":"u","sub":"admin"`), principal.Principal{}},
		{"custom:tier twice is refused", base(`,"sub":"u","custom:tier":"free","custom:tier":"enterprise"`), principal.Principal{}},
		{"an escaped name that reads as a claim twice is refused", base(`,"sub":"u","\u0073ub":"v"`), principal.Principal{}},
		{"a string claim of another type is refused", base(`,"sub":7`), principal.Principal{}},
		{"a non-numeric exp is refused", strings.Replace(base(`,"sub":"u"`), `"exp":`, `"exp":"soon","x":`, 1), principal.Principal{}},
		{"unknown claims of any shape are skipped", base(`,"sub":"u","cognito:groups":["a","b"],"address":{"k":[1,{"z":null}]},"n":-1.5e3,"b":true`),
			principal.Principal{Sub: "u", Tier: principal.Free, Method: principal.ViaJWT}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := f.v.Verify(signRaw(t, f.iss, tt.payload))
			if tt.want == (principal.Principal{}) {
				if !errors.Is(err, cognito.ErrInvalidToken) {
					t.Fatalf("Verify = %+v, %v; want ErrInvalidToken", p, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p.Exp = time.Time{}
			if p != tt.want {
				t.Fatalf("Verify = %+v, want %+v", p, tt.want)
			}
		})
	}
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestVerificationCache(t *testing.T) {
	var clock atomic.Pointer[time.Time]
	set := func(t time.Time) { clock.Store(&t) }
	set(now)
	iss, j, _ := newIssuer(t, true)
	v := newVerifier(t, iss, cognito.Options{UnknownKIDRefresh: time.Hour, Now: func() time.Time { return *clock.Load() }})
	tok := mint(t, iss, devissuer.Token{Sub: "u", Tier: "pro", TTL: time.Hour})

	t.Run("a repeated token is served from the cache with the same principal", func(t *testing.T) {
		a, err := v.Verify(tok)
		if err != nil {
			t.Fatal(err)
		}
		b, err := v.Verify(tok)
		if err != nil || a != b {
			t.Fatalf("%+v %+v %v", a, b, err)
		}
		if a.Exp != now.Add(time.Hour) {
			t.Fatalf("Exp = %v", a.Exp)
		}
	})
	t.Run("a cached token is refused past its exp and the leeway", func(t *testing.T) {
		set(now.Add(time.Hour + cognito.Leeway + time.Second))
		if _, err := v.Verify(tok); !errors.Is(err, cognito.ErrInvalidToken) {
			t.Fatalf("Verify past exp = %v", err)
		}
		set(now)
	})
	t.Run("a token differing in one byte is not a cache hit", func(t *testing.T) {
		if _, err := v.Verify(tok[:len(tok)-2] + "AA"); !errors.Is(err, cognito.ErrInvalidToken) {
			t.Fatalf("tampered token = %v", err)
		}
	})
	if n := j.hits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want once", n)
	}
}

func TestSeveralIssuers(t *testing.T) {
	a, _, _ := newIssuer(t, true)
	b, _, _ := newIssuer(t, true)
	v, err := cognito.New(t.Context(), cognito.Options{
		Issuers: []string{a.URL, b.URL}, ClientIDs: []string{clientID}, Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	user := devissuer.Token{Sub: "u"}
	for _, iss := range []*devissuer.Issuer{a, b} {
		if _, err := v.Verify(mint(t, iss, user)); err != nil {
			t.Fatalf("token of %s: %v", iss.URL, err)
		}
	}
	t.Run("a token signed by one pool but claiming the other is refused", func(t *testing.T) {
		c := a.Claims(user)
		c["iss"] = b.URL
		forged, err := a.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(forged); !errors.Is(err, cognito.ErrInvalidToken) {
			t.Fatalf("cross-issuer token = %v", err)
		}
	})
}

// signHeader signs a claims map under a header written as JSON text.
func signHeader(t *testing.T, iss *devissuer.Issuer, header string, claims map[string]any) string {
	t.Helper()
	payload, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := jwt.SigningMethodRS256.Sign(in, iss.Key)
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestHeaderIsReadStrictly(t *testing.T) {
	f := newFixture(t, cognito.Options{UnknownKIDRefresh: time.Hour})
	claims := map[string]any(f.iss.Claims(devissuer.Token{Sub: "u", Tier: "pro"}))
	kid := `"kid":"` + f.iss.KID + `"`
	good := signHeader(t, f.iss, `{"alg":"RS256",`+kid+`}`, claims)
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"alg and kid", good, true},
		{"typ and other members are fine", signHeader(t, f.iss, `{ "typ" : "JWT", "alg":"RS256", `+kid+`, "x5t":"abc"}`, claims), true},
		{"alg in another case is refused", signHeader(t, f.iss, `{"alg":"rs256",`+kid+`}`, claims), false},
		{"alg twice is refused", signHeader(t, f.iss, `{"alg":"none","alg":"RS256",`+kid+`}`, claims), false},
		{"kid twice is refused", signHeader(t, f.iss, `{"alg":"RS256",`+kid+`,"kid":"other"}`, claims), false},
		{"no kid is refused", signHeader(t, f.iss, `{"alg":"RS256"}`, claims), false},
		{"a crit member is refused", signHeader(t, f.iss, `{"alg":"RS256",`+kid+`,"crit":["exp"]}`, claims), false},
		{"a header that is not an object is refused", signHeader(t, f.iss, `["RS256"]`, claims), false},
		{"a header that is not JSON is refused", signHeader(t, f.iss, `{"alg":"RS256",`+kid, claims), false},
		{"padding is refused", strings.Replace(good, ".", "=.", 1), false},
		{"four segments are refused", good + ".x", false},
		{"a line break in the signature is refused (Go's decoder would skip it)", good[:len(good)-10] + "\n" + good[len(good)-10:], false},
		{"a carriage return in the claims is refused", strings.Replace(good, ".", ".\r", 1), false},
		{"a standard-base64 signature is refused", good[:strings.LastIndexByte(good, '.')+1] +
			strings.NewReplacer("-", "+", "_", "/").Replace(good[strings.LastIndexByte(good, '.')+1:]) + "+", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.v.Verify(tt.token)
			if tt.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.ok && !errors.Is(err, cognito.ErrInvalidToken) {
				t.Fatalf("got %v, want ErrInvalidToken", err)
			}
		})
	}
}

// TestTimeClaimsOutsideYears1970To9999AreRefused: exp, nbf and iat must be
// plain integers of Unix seconds within years 1970-9999. Anything else is an
// invalid token, never a principal whose expiry overflowed (an exp of 1e19
// once became a negative time and a 500 on every request).
func TestTimeClaimsOutsideYears1970To9999AreRefused(t *testing.T) {
	f := newFixture(t, cognito.Options{UnknownKIDRefresh: time.Hour})
	exp, iat := jsonNum(now.Add(time.Hour).Unix()), jsonNum(now.Unix())
	payload := func(exp, nbf, iat string) string {
		p := `{"iss":"` + f.iss.URL + `","token_use":"access","client_id":"` + clientID + `","sub":"u","exp":` + exp
		if nbf != "" {
			p += `,"nbf":` + nbf
		}
		if iat != "" {
			p += `,"iat":` + iat
		}
		return p + `}`
	}
	const lastSecondOf9999 = "253402300799"
	tests := []struct {
		name    string
		payload string
		ok      bool
	}{
		{"exp within range is accepted", payload(exp, "", iat), true},
		{"exp at the last second of 9999 is accepted", payload(lastSecondOf9999, "", iat), true},
		{"nbf and iat of 0 (1970) are accepted", payload(exp, "0", "0"), true},
		{"exp 1e19 is refused", payload("1e19", "", iat), false},
		{"exp 1e300 is refused", payload("1e300", "", iat), false},
		{"exp 10000000000000000000 is refused", payload("10000000000000000000", "", iat), false},
		{"exp 9223372036854775807 is refused", payload("9223372036854775807", "", iat), false},
		{"exp in year 10000 is refused", payload("253402300800", "", iat), false},
		{"exp written with an exponent is refused, however plain its value", payload("1.8e9", "", iat), false},
		{"a fractional exp is refused", payload(exp+".5", "", iat), false},
		{"exp with a zero fraction is refused", payload(exp+".0", "", iat), false},
		{"a negative exp is refused", payload("-1", "", iat), false},
		{"exp -0 is refused", payload("-0", "", iat), false},
		{"nbf 1e19 is refused", payload(exp, "1e19", iat), false},
		{"nbf -1 is refused", payload(exp, "-1", iat), false},
		{"a fractional nbf is refused", payload(exp, "0.5", iat), false},
		{"iat 1e300 is refused", payload(exp, "", "1e300"), false},
		{"iat -9223372036854775808 is refused", payload(exp, "", "-9223372036854775808"), false},
		{"a fractional iat is refused", payload(exp, "", iat+".25"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := f.v.Verify(signRaw(t, f.iss, tt.payload))
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if p.Exp.Year() < 1970 || p.Exp.Year() > 9999 {
					t.Fatalf("exp %v", p.Exp)
				}
				return
			}
			if !errors.Is(err, cognito.ErrInvalidToken) {
				t.Fatalf("Verify = %+v, %v; want ErrInvalidToken", p, err)
			}
		})
	}
}

// TestClaimsWithInvalidUTF8AreRefused: a string in the token that is not
// valid UTF-8, raw or as an unpaired surrogate escape, is an invalid token.
// Decoded the forgiving way, "a\xffb" and "a\ud800b" both become "a\uFFFDb",
// so two different subs would collapse into one owner.
func TestClaimsWithInvalidUTF8AreRefused(t *testing.T) {
	f := newFixture(t, cognito.Options{UnknownKIDRefresh: time.Hour})
	base := func(extra string) string {
		return `{"iss":"` + f.iss.URL + `","token_use":"access","client_id":"` + clientID + `","exp":` +
			jsonNum(now.Add(time.Hour).Unix()) + extra + `}`
	}
	tests := []struct {
		name    string
		payload string
		sub     string // when accepted
		team    string
	}{
		{"a sub of valid multibyte UTF-8 is accepted", base(`,"sub":"jöhn-✓"`), "jöhn-✓", ""},
		{"an escaped surrogate pair is accepted as its character", base(`,"sub":"a\ud83d\ude00b","custom:teamId":"t\u00e9"`), "a😀b", "té"},
		{"a sub with a raw 0xff byte is refused", base(",\"sub\":\"ab\xffcd\""), "", ""},
		{"a sub with a truncated UTF-8 sequence is refused", base(",\"sub\":\"ab\xe2\x9c\""), "", ""},
		{"a sub with an overlong encoding is refused", base(",\"sub\":\"\xc0\xaf\""), "", ""},
		{"a sub with an encoded surrogate is refused", base(",\"sub\":\"\xed\xa0\x80\""), "", ""},
		{"a sub with a lone high surrogate escape is refused", base(`,"sub":"a\ud800b"`), "", ""},
		{"a sub with a lone low surrogate escape is refused", base(`,"sub":"a\udc00"`), "", ""},
		{"a sub with a high surrogate escape at its end is refused", base(`,"sub":"a\ud800"`), "", ""},
		{"two high surrogate escapes are refused", base(`,"sub":"\ud800\ud800"`), "", ""},
		{"a high surrogate before a non-surrogate escape is refused", base(`,"sub":"\ud800\u0041"`), "", ""},
		{"a custom:teamId with a raw 0xfe byte is refused", base(",\"sub\":\"u\",\"custom:teamId\":\"t\xfe\""), "", ""},
		{"a custom:teamId with a lone surrogate escape is refused", base(`,"sub":"u","custom:teamId":"\udfff"`), "", ""},
		{"invalid UTF-8 in a claim keygate does not read is refused too", base(",\"sub\":\"u\",\"name\":\"\xff\""), "", ""},
		{"invalid UTF-8 in a claim name is refused", base(",\"sub\":\"u\",\"\xff\":1"), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := f.v.Verify(signRaw(t, f.iss, tt.payload))
			if tt.sub == "" {
				if !errors.Is(err, cognito.ErrInvalidToken) {
					t.Fatalf("Verify = %+v, %v; want ErrInvalidToken", p, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Sub != tt.sub || p.TeamID != tt.team {
				t.Fatalf("sub %q team %q, want %q %q", p.Sub, p.TeamID, tt.sub, tt.team)
			}
		})
	}
}
