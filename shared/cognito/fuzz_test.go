package cognito_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/shared/cognito"
	"github.com/keygate/keygate/shared/principal"
)

// fuzzIssuer is a dev issuer on httptest and a verifier trusting it, both at
// the fixed time now.
func fuzzIssuer(f *testing.F) (*devissuer.Issuer, *cognito.Verifier) {
	iss, err := devissuer.New(clientID)
	if err != nil {
		f.Fatal(err)
	}
	iss.Now = func() time.Time { return now }
	srv := httptest.NewServer(iss.Handler())
	f.Cleanup(srv.Close)
	iss.URL = srv.URL
	ctx, cancel := context.WithCancel(context.Background())
	f.Cleanup(cancel)
	v, err := cognito.New(ctx, cognito.Options{
		Issuers: []string{iss.URL}, ClientIDs: []string{clientID, otherClient}, CacheSize: -1, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		f.Fatal(err)
	}
	return iss, v
}

// FuzzVerify feeds arbitrary strings, starting from real tokens, to
// Verifier.Verify. Invariants: no panic; every refusal wraps ErrInvalidToken;
// an accepted token carries the signed header and payload of a token the
// issuer minted, and yields that token's principal; an accepted token is
// byte for byte one the issuer minted (no second spelling of its signature:
// the verifier decodes base64url strictly).
func FuzzVerify(f *testing.F) {
	iss, v := fuzzIssuer(f)
	minted := map[string]principal.Principal{}
	for _, tok := range []devissuer.Token{
		{Sub: "alice", Tier: "pro", TeamID: "t1"},
		{Sub: "bob", Use: "id", Tier: "Enterprise"},
		{Sub: "carol"},
	} {
		s, err := iss.Mint(tok)
		if err != nil {
			f.Fatal(err)
		}
		minted[s] = principal.Principal{Sub: tok.Sub, Tier: principal.ParseTier(tok.Tier), TeamID: tok.TeamID, Method: principal.ViaJWT, Exp: now.Add(time.Hour).UTC()}
		f.Add(s)
		f.Add(s + "=")
		f.Add(strings.Replace(s, ".", "..", 1))
		f.Add(respell(s))
	}
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Fuzz(func(t *testing.T, token string) {
		p, err := v.Verify(token)
		if err != nil {
			if !errors.Is(err, cognito.ErrInvalidToken) {
				t.Fatalf("Verify error %v does not wrap ErrInvalidToken", err)
			}
			return
		}
		signed := signingInput(token)
		for m, want := range minted {
			if signingInput(m) == signed {
				if p != want {
					t.Fatalf("Verify(%q) = %+v, minted for %+v", token, p, want)
				}
				if _, ok := minted[token]; !ok {
					t.Fatalf("Verify accepted %q, another spelling of a minted token", token)
				}
				return
			}
		}
		t.Fatalf("Verify accepted %q, which the issuer never signed", token)
	})
}

// respell changes the last character of token's signature in its unused low
// bits only: the same signature bytes under lenient base64 decoding. An RS256
// signature is 256 bytes, 342 base64url characters, the last carrying 2 bits
// of data and 4 unused.
func respell(token string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, token[len(token)-1])
	return token[:len(token)-1] + string(alphabet[i^1])
}

// signingInput is header.payload, what RS256 signs.
func signingInput(token string) string {
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return ""
	}
	return token[:i]
}

// FuzzVerifyClaims signs arbitrary payloads with the issuer's real key, so
// the claim checks themselves are fuzzed. Invariants: no panic; refusals wrap
// ErrInvalidToken; an accepted payload is a JSON object and yields a JWT
// principal with a sub and a known tier; an accepted payload has no member
// twice, and the principal and every check come from the exact claim names
// (iss, exp, token_use, client_id or aud, sub, custom:tier, custom:teamId):
// "SUB" or "Custom:Tier" count for nothing.
func FuzzVerifyClaims(f *testing.F) {
	iss, v := fuzzIssuer(f)
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"` + iss.KID + `","typ":"JWT"}`))
	base := iss.Claims(devissuer.Token{Sub: "alice", Tier: "pro", TeamID: "t1"})
	seed := func(edit func(m map[string]any)) []byte {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		edit(m)
		b, _ := json.Marshal(m)
		return b
	}
	f.Add(seed(func(map[string]any) {}))
	f.Add(seed(func(m map[string]any) { delete(m, "custom:tier"); m["Custom:Tier"] = "enterprise" }))
	f.Add(seed(func(m map[string]any) { delete(m, "sub"); m["SUB"] = "mallory" }))
	f.Add(seed(func(m map[string]any) { m["EXP"] = m["exp"]; delete(m, "exp") }))
	f.Add(seed(func(m map[string]any) { m["token_use"] = "ACCESS" }))
	f.Add(seed(func(m map[string]any) {
		delete(m, "client_id")
		m["token_use"] = "id"
		m["aud"] = []string{"x", otherClient}
	}))
	dup, _ := json.Marshal(base)
	f.Add(bytes.Replace(dup, []byte(`"sub":"alice"`), []byte(`"sub":"alice","sub":"mallory"`), 1))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"sub":"x"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		input := header + "." + base64.RawURLEncoding.EncodeToString(payload)
		digest := sha256.Sum256([]byte(input))
		sig, err := rsa.SignPKCS1v15(rand.Reader, iss.Key, crypto.SHA256, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		p, err := v.Verify(input + "." + base64.RawURLEncoding.EncodeToString(sig))
		if err != nil {
			if !errors.Is(err, cognito.ErrInvalidToken) {
				t.Fatalf("Verify error %v does not wrap ErrInvalidToken", err)
			}
			return
		}
		var claims map[string]any
		if err := json.Unmarshal(payload, &claims); err != nil {
			t.Fatalf("accepted a payload that is not a JSON object: %s", payload)
		}
		switch p.Tier {
		case principal.Free, principal.Pro, principal.Team, principal.Enterprise:
		default:
			t.Fatalf("tier %q", p.Tier)
		}
		if p.Method != principal.ViaJWT || p.Sub == "" {
			t.Fatalf("accepted %s as %+v", payload, p)
		}
		if name, ok := duplicateMember(payload); ok {
			t.Fatalf("accepted %s with claim %q twice", payload, name)
		}
		str := func(k string) (string, bool) { s, ok := claims[k].(string); return s, ok }
		if s, _ := str("iss"); s != iss.URL {
			t.Fatalf("accepted %s: iss %q", payload, s)
		}
		exp, ok := claims["exp"].(float64)
		if !ok || !now.Before(time.Unix(int64(exp), 0).Add(cognito.Leeway+time.Second)) {
			t.Fatalf("accepted %s: exp %v", payload, claims["exp"])
		}
		switch use, _ := str("token_use"); use {
		case "access":
			if c, _ := str("client_id"); c != clientID && c != otherClient {
				t.Fatalf("accepted access token %s for client %q", payload, c)
			}
		case "id":
			if !audienceHas(claims["aud"], clientID, otherClient) {
				t.Fatalf("accepted ID token %s for aud %v", payload, claims["aud"])
			}
		default:
			t.Fatalf("accepted %s with token_use %q", payload, use)
		}
		sub, _ := str("sub")
		tier, _ := str("custom:tier")
		team, _ := str("custom:teamId")
		want := principal.Principal{Sub: sub, Tier: principal.ParseTier(tier), TeamID: team, Method: principal.ViaJWT, Exp: time.Unix(int64(exp), 0).UTC()}
		if p != want {
			t.Fatalf("accepted %s as %+v; its exact claims say %+v", payload, p, want)
		}
	})
}

func audienceHas(aud any, ids ...string) bool {
	switch a := aud.(type) {
	case string:
		return slices.Contains(ids, a)
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok && slices.Contains(ids, s) {
				return true
			}
		}
	}
	return false
}

// duplicateMember reports a member name that occurs twice in the top-level
// JSON object b.
func duplicateMember(b []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", false
	}
	seen := map[string]bool{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return "", false
		}
		name, _ := k.(string)
		if seen[name] {
			return name, true
		}
		seen[name] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", false
		}
	}
	return "", false
}
