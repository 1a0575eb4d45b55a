package cognito_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/shared/cognito"
	"github.com/keygate/keygate/shared/principal"
)

const (
	clientID    = "client-a"
	otherClient = "client-b" // also configured
)

// now is the fixed time of every token and check in the claim tests.
var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// jwks serves an issuer's Handler over HTTP, counts JWKS fetches, and can
// fail them or switch to another issuer's keys (rotation).
type jwks struct {
	hits    atomic.Int64
	down    atomic.Bool
	stalled atomic.Bool // accept and never answer, as a hung endpoint does
	// running and maxRunning count fetches being answered at once.
	running, maxRunning atomic.Int64
	current             atomic.Pointer[http.Handler]
}

func (j *jwks) serve(h http.Handler) { j.current.Store(&h) }

func (j *jwks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/.well-known/jwks.json") {
		j.hits.Add(1)
		n := j.running.Add(1)
		defer j.running.Add(-1)
		for {
			m := j.maxRunning.Load()
			if n <= m || j.maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		if j.stalled.Load() {
			<-r.Context().Done()
			return
		}
		if j.down.Load() {
			http.Error(w, "JWKS unavailable", http.StatusInternalServerError)
			return
		}
	}
	(*j.current.Load()).ServeHTTP(w, r)
}

// fixture is a dev issuer served on httptest and a verifier trusting it.
type fixture struct {
	iss  *devissuer.Issuer
	jwks *jwks
	v    *cognito.Verifier
}

func newIssuer(t *testing.T, fixed bool) (*devissuer.Issuer, *jwks, *httptest.Server) {
	t.Helper()
	iss, err := devissuer.New(clientID)
	if err != nil {
		t.Fatal(err)
	}
	if fixed {
		iss.Now = func() time.Time { return now }
	}
	j := &jwks{}
	j.serve(iss.Handler())
	srv := httptest.NewServer(j)
	t.Cleanup(srv.Close)
	iss.URL = srv.URL
	return iss, j, srv
}

func newVerifier(t *testing.T, iss *devissuer.Issuer, o cognito.Options) *cognito.Verifier {
	t.Helper()
	o.Issuers = []string{iss.URL}
	o.ClientIDs = []string{clientID, otherClient}
	o.Log = slog.New(slog.DiscardHandler)
	v, err := cognito.New(t.Context(), o)
	if err != nil {
		t.Fatalf("cognito.New: %v", err)
	}
	return v
}

func newFixture(t *testing.T, o cognito.Options) *fixture {
	t.Helper()
	iss, j, _ := newIssuer(t, true)
	o.Now = func() time.Time { return now }
	return &fixture{iss: iss, jwks: j, v: newVerifier(t, iss, o)}
}

// stranger is another issuer with its own RSA key and kid, claiming to be iss.
func stranger(t *testing.T, iss *devissuer.Issuer) *devissuer.Issuer {
	t.Helper()
	s, err := devissuer.New(iss.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	s.URL, s.Now = iss.URL, iss.Now
	return s
}

func mint(t *testing.T, iss *devissuer.Issuer, tok devissuer.Token) string {
	t.Helper()
	s, err := iss.Mint(tok)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sign(t *testing.T, m jwt.SigningMethod, kid string, c jwt.Claims, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// edited signs the claims of tok, changed by edit, with the issuer's key.
func edited(tok devissuer.Token, edit func(c jwt.MapClaims)) func(t *testing.T, f *fixture) string {
	return func(t *testing.T, f *fixture) string {
		c := f.iss.Claims(tok)
		edit(c)
		s, err := f.iss.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

func minted(tok devissuer.Token) func(t *testing.T, f *fixture) string {
	return func(t *testing.T, f *fixture) string { return mint(t, f.iss, tok) }
}

func literal(s string) func(t *testing.T, f *fixture) string {
	return func(*testing.T, *fixture) string { return s }
}

func TestVerify(t *testing.T) {
	f := newFixture(t, cognito.Options{UnknownKIDRefresh: time.Hour})
	user := devissuer.Token{Sub: "user-1", Tier: "pro", TeamID: "team-7"}
	idToken := devissuer.Token{Sub: "user-1", Tier: "team", Use: "id"}
	jwtUser := func(tier principal.Tier, team string) principal.Principal {
		return principal.Principal{Sub: "user-1", Tier: tier, TeamID: team, Method: principal.ViaJWT}
	}
	tests := []struct {
		name  string
		token func(t *testing.T, f *fixture) string
		want  principal.Principal // zero: refused
	}{
		// Accepted.
		{"access token of a configured client is accepted", minted(user), jwtUser(principal.Pro, "team-7")},
		{"access token of the second configured client is accepted",
			edited(user, func(c jwt.MapClaims) { c["client_id"] = otherClient }), jwtUser(principal.Pro, "team-7")},
		{"tier is case-insensitive: PRO is pro", minted(devissuer.Token{Sub: "user-1", Tier: "PRO"}), jwtUser(principal.Pro, "")},
		{"tier Enterprise is enterprise", minted(devissuer.Token{Sub: "user-1", Tier: "Enterprise"}), jwtUser(principal.Enterprise, "")},
		{"missing tier is free", minted(devissuer.Token{Sub: "user-1"}), jwtUser(principal.Free, "")},
		{"unknown tier is free", minted(devissuer.Token{Sub: "user-1", Tier: "platinum"}), jwtUser(principal.Free, "")},
		{"ID token with a configured aud is accepted", minted(idToken), jwtUser(principal.Team, "")},
		{"ID token with a configured client among several aud is accepted",
			edited(idToken, func(c jwt.MapClaims) { c["aud"] = []string{"someone-else", clientID} }), jwtUser(principal.Team, "")},
		{"token expired 30 s ago is accepted within the leeway",
			edited(user, func(c jwt.MapClaims) { c["exp"] = now.Add(-30 * time.Second).Unix() }), jwtUser(principal.Pro, "team-7")},
		{"token valid from 30 s ahead is accepted within the leeway",
			edited(user, func(c jwt.MapClaims) { c["nbf"] = now.Add(30 * time.Second).Unix() }), jwtUser(principal.Pro, "team-7")},

		// Refused: time.
		{"token expired beyond the 60 s leeway is refused",
			edited(user, func(c jwt.MapClaims) { c["exp"] = now.Add(-61 * time.Second).Unix() }), principal.Principal{}},
		{"token expired an hour ago is refused",
			edited(user, func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() }), principal.Principal{}},
		{"token without exp is refused", edited(user, func(c jwt.MapClaims) { delete(c, "exp") }), principal.Principal{}},
		{"token not yet valid beyond the leeway is refused",
			edited(user, func(c jwt.MapClaims) { c["nbf"] = now.Add(2 * time.Minute).Unix() }), principal.Principal{}},
		{"token issued in the future beyond the leeway is refused",
			edited(user, func(c jwt.MapClaims) { c["iat"] = now.Add(2 * time.Minute).Unix() }), principal.Principal{}},

		// Refused: issuer and audience.
		{"wrong issuer is refused",
			edited(user, func(c jwt.MapClaims) { c["iss"] = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_other" }), principal.Principal{}},
		{"issuer with a trailing slash is refused",
			edited(user, func(c jwt.MapClaims) { c["iss"] = c["iss"].(string) + "/" }), principal.Principal{}},
		{"missing issuer is refused", edited(user, func(c jwt.MapClaims) { delete(c, "iss") }), principal.Principal{}},
		{"access token of an unknown client is refused",
			edited(user, func(c jwt.MapClaims) { c["client_id"] = "client-x" }), principal.Principal{}},
		{"access token without client_id is refused",
			edited(user, func(c jwt.MapClaims) { delete(c, "client_id") }), principal.Principal{}},
		{"access token with a configured aud but unknown client_id is refused",
			edited(user, func(c jwt.MapClaims) { c["client_id"] = "client-x"; c["aud"] = clientID }), principal.Principal{}},
		{"ID token of an unknown aud is refused",
			edited(idToken, func(c jwt.MapClaims) { c["aud"] = "client-x" }), principal.Principal{}},
		{"ID token with a configured client_id but unknown aud is refused",
			edited(idToken, func(c jwt.MapClaims) { c["aud"] = "client-x"; c["client_id"] = clientID }), principal.Principal{}},

		// Refused: token_use and sub.
		{"refresh token_use is refused", edited(user, func(c jwt.MapClaims) { c["token_use"] = "refresh" }), principal.Principal{}},
		{"missing token_use is refused", edited(user, func(c jwt.MapClaims) { delete(c, "token_use") }), principal.Principal{}},
		{"token_use in another case is refused", edited(user, func(c jwt.MapClaims) { c["token_use"] = "ACCESS" }), principal.Principal{}},
		{"missing sub is refused", edited(user, func(c jwt.MapClaims) { delete(c, "sub") }), principal.Principal{}},

		// Refused: signature and algorithm.
		{"tampered payload (changed sub, original signature) is refused", func(t *testing.T, f *fixture) string {
			parts := strings.Split(mint(t, f.iss, user), ".")
			raw, err := base64.RawURLEncoding.DecodeString(parts[1])
			if err != nil {
				t.Fatal(err)
			}
			var c map[string]any
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			c["sub"] = "admin"
			raw, _ = json.Marshal(c)
			parts[1] = base64.RawURLEncoding.EncodeToString(raw)
			return strings.Join(parts, ".")
		}, principal.Principal{}},
		{"signature stripped is refused", func(t *testing.T, f *fixture) string {
			tok := mint(t, f.iss, user)
			return tok[:strings.LastIndexByte(tok, '.')+1]
		}, principal.Principal{}},
		{"alg none is refused", func(t *testing.T, f *fixture) string {
			return sign(t, jwt.SigningMethodNone, f.iss.KID, f.iss.Claims(user), jwt.UnsafeAllowNoneSignatureType)
		}, principal.Principal{}},
		{"HS256 keyed with the RSA public key PEM is refused", func(t *testing.T, f *fixture) string {
			der, err := x509.MarshalPKIXPublicKey(&f.iss.Key.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			return sign(t, jwt.SigningMethodHS256, f.iss.KID, f.iss.Claims(user), pemKey)
		}, principal.Principal{}},
		{"HS256 keyed with the RSA public key DER is refused", func(t *testing.T, f *fixture) string {
			der, err := x509.MarshalPKIXPublicKey(&f.iss.Key.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			return sign(t, jwt.SigningMethodHS256, f.iss.KID, f.iss.Claims(user), der)
		}, principal.Principal{}},
		{"RS512 by the issuer's own key is refused (RS256 only)", func(t *testing.T, f *fixture) string {
			return sign(t, jwt.SigningMethodRS512, f.iss.KID, f.iss.Claims(user), f.iss.Key)
		}, principal.Principal{}},
		{"PS256 by the issuer's own key is refused (RS256 only)", func(t *testing.T, f *fixture) string {
			return sign(t, jwt.SigningMethodPS256, f.iss.KID, f.iss.Claims(user), f.iss.Key)
		}, principal.Principal{}},
		{"token signed by another key under the issuer's kid is refused", func(t *testing.T, f *fixture) string {
			s := stranger(t, f.iss)
			s.KID = f.iss.KID
			return mint(t, s, user)
		}, principal.Principal{}},
		{"token signed by another key without a kid is refused", func(t *testing.T, f *fixture) string {
			s := stranger(t, f.iss)
			return sign(t, jwt.SigningMethodRS256, "", s.Claims(user), s.Key)
		}, principal.Principal{}},

		// Refused: not a JWT.
		{"empty string is refused", literal(""), principal.Principal{}},
		{"garbage is refused", literal("not-a-jwt"), principal.Principal{}},
		{"three dots of garbage are refused", literal("a.b.c"), principal.Principal{}},
		{"an API key is refused", literal("csk_live_a1b2c3d4e5f67890abcdef1234567890"), principal.Principal{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := tt.token(t, f)
			p, err := f.v.Verify(tok)
			if tt.want == (principal.Principal{}) {
				if err == nil {
					t.Fatalf("Verify accepted it as %+v", p)
				}
				if !errors.Is(err, cognito.ErrInvalidToken) {
					t.Fatalf("error %v is not ErrInvalidToken", err)
				}
				if p != (principal.Principal{}) {
					t.Fatalf("Verify returned %+v alongside its error", p)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.Exp.IsZero() {
				t.Fatal("Verify returned no expiry")
			}
			p.Exp = time.Time{}
			if p != tt.want {
				t.Fatalf("Verify = %+v, want %+v", p, tt.want)
			}
		})
	}
	// No token in the table carries an unknown kid, so none may refetch.
	if n := f.jwks.hits.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times over the table, want once (at start)", n)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		o    cognito.Options
	}{
		{"issuer is required", cognito.Options{ClientIDs: []string{clientID}}},
		{"a client id is required", cognito.Options{Issuers: []string{"http://127.0.0.1:1"}}},
		{"a JWKS override needs one issuer", cognito.Options{Issuers: []string{"http://a", "http://b"}, JWKSURL: "http://a/k", ClientIDs: []string{clientID}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := cognito.New(t.Context(), tt.o); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}

func TestUnknownKIDRefetch(t *testing.T) {
	// Real time here: the refetch limiter runs on the wall clock.
	iss, j, _ := newIssuer(t, false)
	v := newVerifier(t, iss, cognito.Options{UnknownKIDRefresh: time.Hour})
	user := devissuer.Token{Sub: "user-1", Tier: "pro"}
	if n := j.hits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times at start, want 1", n)
	}

	t.Run("known kid costs no fetch", func(t *testing.T) {
		if _, err := v.Verify(mint(t, iss, user)); err != nil {
			t.Fatal(err)
		}
		if n := j.hits.Load(); n != 1 {
			t.Fatalf("JWKS fetches = %d, want still 1", n)
		}
	})
	t.Run("token of another key with an unknown kid is refused after exactly one refetch", func(t *testing.T) {
		_, err := v.Verify(mint(t, stranger(t, iss), user))
		if !errors.Is(err, cognito.ErrInvalidToken) {
			t.Fatalf("Verify = %v, want ErrInvalidToken", err)
		}
		if n := j.hits.Load(); n != 2 {
			t.Fatalf("JWKS fetches = %d, want 2", n)
		}
	})
	t.Run("second unknown kid within the interval is unavailable at once without a refetch", func(t *testing.T) {
		// No JWKS fetched for it says it is unknown: it may be a key the
		// pool published a moment ago, so keygate cannot decide yet (503).
		start := time.Now()
		_, err := v.Verify(mint(t, stranger(t, iss), user))
		if !errors.Is(err, cognito.ErrUnavailable) {
			t.Fatalf("Verify = %v, want ErrUnavailable", err)
		}
		if n := j.hits.Load(); n != 2 {
			t.Fatalf("JWKS fetches = %d, want still 2 (rate limited)", n)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("refusal took %v; a spent limiter must answer at once, not wait", d)
		}
	})
	t.Run("known kid still verifies after the refused ones", func(t *testing.T) {
		if _, err := v.Verify(mint(t, iss, user)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestKeyRotation(t *testing.T) {
	const spacing = 50 * time.Millisecond
	iss, j, _ := newIssuer(t, false)
	v := newVerifier(t, iss, cognito.Options{UnknownKIDRefresh: spacing})
	user := devissuer.Token{Sub: "user-1"}
	old := mint(t, iss, user)
	if _, err := v.Verify(old); err != nil {
		t.Fatal(err)
	}

	next := stranger(t, iss) // the pool's new key and kid
	j.serve(next.Handler())
	before := j.hits.Load()

	t.Run("token with the new kid is accepted after one refetch", func(t *testing.T) {
		p, err := v.Verify(mint(t, next, user))
		if err != nil {
			t.Fatalf("Verify after rotation: %v", err)
		}
		if p.Sub != "user-1" {
			t.Fatalf("sub = %q", p.Sub)
		}
		if n := j.hits.Load() - before; n != 1 {
			t.Fatalf("JWKS fetches for the new kid = %d, want 1", n)
		}
	})
	t.Run("further tokens with the new kid cost no fetch", func(t *testing.T) {
		if _, err := v.Verify(mint(t, next, user)); err != nil {
			t.Fatal(err)
		}
		if n := j.hits.Load() - before; n != 1 {
			t.Fatalf("JWKS fetches = %d, want still 1", n)
		}
	})
	t.Run("token of the retired key is refused once a JWKS fetched for it drops it", func(t *testing.T) {
		time.Sleep(spacing + 10*time.Millisecond)
		if _, err := v.Verify(old); !errors.Is(err, cognito.ErrInvalidToken) {
			t.Fatalf("Verify(old) = %v, want ErrInvalidToken", err)
		}
	})
}

func TestJWKSDownAtStart(t *testing.T) {
	const refresh = 50 * time.Millisecond
	user := devissuer.Token{Sub: "user-1"}

	t.Run("endpoint answering 500: an unseen kid is unavailable (503), not invalid, then recovers", func(t *testing.T) {
		iss, j, _ := newIssuer(t, false)
		j.down.Store(true)
		v := newVerifier(t, iss, cognito.Options{UnknownKIDRefresh: refresh})
		tok := mint(t, iss, user)
		if _, err := v.Verify(tok); !errors.Is(err, cognito.ErrUnavailable) || errors.Is(err, cognito.ErrInvalidToken) {
			t.Fatalf("Verify with the JWKS down = %v, want ErrUnavailable", err)
		}
		j.down.Store(false)
		time.Sleep(refresh + 20*time.Millisecond)
		if _, err := v.Verify(tok); err != nil {
			t.Fatalf("Verify after the JWKS came back: %v", err)
		}
	})

	t.Run("closed endpoint: unavailable, then recovers when it listens again", func(t *testing.T) {
		iss, j, srv := newIssuer(t, false)
		addr := srv.Listener.Addr().String()
		srv.Close()
		v := newVerifier(t, iss, cognito.Options{UnknownKIDRefresh: refresh})
		tok := mint(t, iss, user)
		if _, err := v.Verify(tok); !errors.Is(err, cognito.ErrUnavailable) {
			t.Fatalf("Verify with the JWKS closed = %v, want ErrUnavailable", err)
		}

		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen again on %s: %v", addr, err)
		}
		back := httptest.NewUnstartedServer(j)
		back.Listener.Close()
		back.Listener = ln
		back.Start()
		t.Cleanup(back.Close)

		time.Sleep(refresh + 20*time.Millisecond)
		if _, err := v.Verify(tok); err != nil {
			t.Fatalf("Verify after the JWKS came back: %v", err)
		}
	})
}

// TestUnseenKidWhileJWKSStalledIs503NotBlamedOnGarbage: a token with a
// made-up kid spends a refetch; then the JWKS endpoint hangs and the pool
// rotates its key. A token with the real new kid must be 503 (keygate cannot
// decide), never a 401 because the garbage token used the refetch.
func TestUnseenKidWhileJWKSStalledIs503NotBlamedOnGarbage(t *testing.T) {
	iss, j, _ := newIssuer(t, false)
	v := newVerifier(t, iss, cognito.Options{}) // the default refetch spacing
	user := devissuer.Token{Sub: "user-1"}
	if _, err := v.Verify(mint(t, stranger(t, iss), user)); !errors.Is(err, cognito.ErrInvalidToken) {
		t.Fatalf("garbage kid with the JWKS up = %v, want ErrInvalidToken after a fetch", err)
	}
	j.stalled.Store(true)
	next := stranger(t, iss)
	j.serve(next.Handler()) // what the pool would serve, could it be reached
	for _, tc := range []struct{ name, token string }{
		{"the pool's real new kid", mint(t, next, user)},
		{"another made-up kid", mint(t, stranger(t, iss), user)},
	} {
		t.Run(tc.name+" is unavailable, not invalid", func(t *testing.T) {
			start := time.Now()
			_, err := v.Verify(tc.token)
			if !errors.Is(err, cognito.ErrUnavailable) || errors.Is(err, cognito.ErrInvalidToken) {
				t.Fatalf("Verify = %v after %v, want ErrUnavailable", err, time.Since(start))
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("answered after %v; a fetch is bounded by its 2 s timeout", d)
			}
		})
	}
	t.Run("past the spacing, a fetch that hangs is unavailable within its timeout", func(t *testing.T) {
		j.stalled.Store(false)
		j.serve(iss.Handler())
		short := newVerifier(t, iss, cognito.Options{UnknownKIDRefresh: 50 * time.Millisecond})
		if _, err := short.Verify(mint(t, stranger(t, iss), user)); !errors.Is(err, cognito.ErrInvalidToken) {
			t.Fatalf("garbage kid with the JWKS up = %v", err)
		}
		j.stalled.Store(true)
		j.serve(next.Handler())
		time.Sleep(60 * time.Millisecond)
		start := time.Now()
		_, err := short.Verify(mint(t, next, user))
		if !errors.Is(err, cognito.ErrUnavailable) || errors.Is(err, cognito.ErrInvalidToken) {
			t.Fatalf("Verify = %v, want ErrUnavailable", err)
		}
		if d := time.Since(start); d < time.Second || d > 3*time.Second {
			t.Fatalf("answered after %v; want after the fetch's 2 s timeout", d)
		}
	})
}

// TestMadeUpKidsDoNotDelayARealNewKeyPast10s: while tokens with made-up kids
// arrive all the time, the pool rotates its signing key; a token with the new
// kid is accepted within 10 s, the JWKS is never fetched twice at once, and
// the fetches stay spaced.
func TestMadeUpKidsDoNotDelayARealNewKeyPast10s(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the default refetch spacing")
	}
	iss, j, _ := newIssuer(t, false)
	v := newVerifier(t, iss, cognito.Options{}) // the default refetch spacing
	user := devissuer.Token{Sub: "user-1"}
	garbage := make([]string, 8)
	for i := range garbage {
		garbage[i] = mint(t, stranger(t, iss), user)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := v.Verify(garbage[i%len(garbage)]); err == nil {
					t.Error("a made-up kid verified")
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()
	time.Sleep(300 * time.Millisecond) // the attackers have drained any budget
	start := time.Now()
	hits := j.hits.Load()
	next := stranger(t, iss)
	j.serve(next.Handler()) // the pool rotates
	real := mint(t, next, user)
	for {
		_, err := v.Verify(real)
		if err == nil {
			break
		}
		if errors.Is(err, cognito.ErrInvalidToken) && time.Since(start) > 10*time.Second {
			t.Fatalf("the new key's token is still refused after %v: %v", time.Since(start), err)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the new key's token is still unavailable after %v: %v", time.Since(start), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(start)
	t.Logf("new key accepted after %v", took.Round(time.Millisecond))
	if m := j.maxRunning.Load(); m > 1 {
		t.Errorf("%d JWKS fetches ran at once, want at most 1", m)
	}
	if n := j.hits.Load() - hits; float64(n) > took.Seconds()/cognito.DefaultUnknownKIDRefresh.Seconds()+2 {
		t.Errorf("%d JWKS fetches in %v: not spaced by %v", n, took, cognito.DefaultUnknownKIDRefresh)
	}
}
