package authorizer_test

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/authorizer"
	"github.com/keygate/keygate/shared/apikey"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/principal"
)

const (
	fuzzKey   = "csk_live_a1b2c3d4e5f67890abcdef1234567890"
	fuzzToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2ln"
)

var keyShape = regexp.MustCompile(`^csk_live_[0-9a-f]{32}$`)

// credentialSpy records what the authorizer hands on: one known key and one
// known token authenticate, everything else is unknown.
type credentialSpy struct {
	keys, tokens []string
}

func (s *credentialSpy) Authenticate(_ context.Context, k apikey.Key) (keys.Record, error) {
	s.keys = append(s.keys, k.String())
	if k.String() != fuzzKey {
		return keys.Record{}, keys.ErrNotFound
	}
	return keys.Record{Prefix: k.Prefix(), Owner: keys.User("user-1"), Budget: "b1", Tier: principal.Pro, Name: "k", DailyLimit: 5, Status: keys.Active}, nil
}

func (s *credentialSpy) Verify(token string) (principal.Principal, error) {
	s.tokens = append(s.tokens, token)
	if token != fuzzToken {
		return principal.Principal{}, errors.New("invalid token")
	}
	return owner, nil
}

// contractBearer is the contract's reading of an Authorization value:
// optional SP/HTAB, the scheme "Bearer" in any case, one or more SP/HTAB, the
// credential (no SP/HTAB in it), optional SP/HTAB. Nothing else is whitespace.
func contractBearer(h string) (string, bool) {
	h = strings.Trim(h, " \t")
	i := strings.IndexAny(h, " \t")
	if i < 0 || !strings.EqualFold(h[:i], "Bearer") {
		return "", false
	}
	cred := strings.TrimLeft(h[i:], " \t")
	if cred == "" || strings.ContainsAny(cred, " \t") {
		return "", false
	}
	return cred, true
}

// FuzzAuthorization feeds arbitrary Authorization values to
// Authorizer.Authenticate (the bearer parse and the key/JWT dispatch).
// Invariants: no panic; every refusal is exactly ErrUnauthorized; at most one
// credential is handed on, never empty and never holding SP or HTAB; a key is
// handed on only in the contract's shape, a csk_ credential never to the JWT
// verifier; an accepted principal is the one of the credential handed on; the
// credential handed on is exactly the contract's reading of the header (only
// SP and HTAB are whitespace), and a header the contract reads as a valid
// credential is never refused.
func FuzzAuthorization(f *testing.F) {
	for _, s := range []string{
		"Bearer " + fuzzKey, "bearer " + fuzzToken, "BEARER  " + fuzzKey + " ", "\tBearer\t" + fuzzKey,
		"Bearer " + fuzzKey + "\u00a0", "\u00a0Bearer " + fuzzKey, "Bearer\u00a0" + fuzzKey, "Bearer " + fuzzKey + "\u2028",
		"Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer a b", "Bearer csk_live_", "Bearer csk_test_" + fuzzKey[9:],
		"Bearer " + strings.ToUpper(fuzzKey), "", "Bearer " + fuzzKey + "\x00",
	} {
		f.Add(s)
	}
	log := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, h string) {
		spy := &credentialSpy{}
		a := &authorizer.Authorizer{Keys: spy, Tokens: spy, Misses: authorizer.NewMissCache(16, time.Minute), Log: log}
		p, err := a.Authenticate(context.Background(), h)
		if err != nil && err != authorizer.ErrUnauthorized {
			t.Fatalf("Authenticate(%q) error %v is not ErrUnauthorized", h, err)
		}
		handed := append(append([]string{}, spy.keys...), spy.tokens...)
		if len(handed) > 1 {
			t.Fatalf("Authenticate(%q) handed on %q", h, handed)
		}
		for _, k := range spy.keys {
			if !keyShape.MatchString(k) {
				t.Fatalf("Authenticate(%q) looked up key %q", h, k)
			}
		}
		for _, tok := range spy.tokens {
			if strings.HasPrefix(tok, apikey.Scheme) {
				t.Fatalf("Authenticate(%q) tried %q as a JWT", h, tok)
			}
		}
		want, ok := contractBearer(h)
		if len(handed) == 1 {
			if cred := handed[0]; !ok || cred != want {
				t.Fatalf("Authenticate(%q) handed on %q; the contract reads %q (valid %v)", h, cred, want, ok)
			}
		}
		if ok && (want == fuzzKey || want == fuzzToken) && err != nil {
			t.Fatalf("Authenticate(%q) refused the valid credential %q", h, want)
		}
		switch {
		case err != nil:
		case len(spy.keys) == 1 && spy.keys[0] == fuzzKey:
			if p.Method != principal.ViaKey || p.KeyPrefix != fuzzKey[:apikey.PrefixLen] || p.Sub != "user-1" {
				t.Fatalf("Authenticate(%q) = %+v", h, p)
			}
		case len(spy.tokens) == 1 && spy.tokens[0] == fuzzToken:
			if p != owner {
				t.Fatalf("Authenticate(%q) = %+v", h, p)
			}
		default:
			t.Fatalf("Authenticate(%q) accepted %+v without a known credential", h, p)
		}
	})
}
