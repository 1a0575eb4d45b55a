package authorizer_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"maps"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keygate/keygate/authorizer"
	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/apikey"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/cognito"
	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/principal"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	clientID  = "client-a"
	methodArn = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/v1/usage"
	stageArn  = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*"
)

// owner is the signed-in user who owns the test keys.
var owner = principal.Principal{Sub: "user-1", Tier: principal.Pro, TeamID: "team-7", Method: principal.ViaJWT}

// tokenSpy counts the credentials handed to the real verifier.
type tokenSpy struct {
	v     authorizer.TokenVerifier
	calls atomic.Int64
}

func (s *tokenSpy) Verify(token string) (principal.Principal, error) {
	s.calls.Add(1)
	return s.v.Verify(token)
}

// fixture is an authorizer wired as in production: keys.Service over a
// DynamoDB table on the harness's dynalite (calls counted by a probe), and a
// cognito.Verifier over a dev issuer's JWKS served by httptest.
type fixture struct {
	a      *authorizer.Authorizer
	keys   *keys.Service
	probe  *testenv.Probe
	iss    *devissuer.Issuer
	tokens *tokenSpy
	logs   *testenv.Buffer
}

// now is the fixed time of the fixture's key service and authorizer.
var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// newFixture builds an authorizer without a positive key cache (every key
// request reads the store); newCachingFixture with one.
func newFixture(t *testing.T) *fixture { return newCachingFixture(t, 0) }

func newCachingFixture(t *testing.T, goodTTL time.Duration) *fixture {
	t.Helper()
	ctx := t.Context()
	probe := &testenv.Probe{}
	store := testenv.Store(t, probe.Option())
	discard := slog.New(slog.DiscardHandler)
	svc := &keys.Service{
		Store:  store,
		Clock:  clock.NewFixed(now),
		Limits: config.DefaultLimits(),
		Log:    discard,
	}

	iss, err := devissuer.New(clientID)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(iss.Handler())
	t.Cleanup(srv.Close)
	iss.URL = srv.URL
	v, err := cognito.New(ctx, cognito.Options{Issuers: []string{iss.URL}, ClientIDs: []string{clientID}, Log: discard})
	if err != nil {
		t.Fatal(err)
	}

	spy := &tokenSpy{v: v}
	logs := &testenv.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	probe.Calls() // table creation is not the authorizer's
	a := authorizer.New(svc, spy, nil, goodTTL, log)
	a.Now = func() time.Time { return now }
	return &fixture{a: a, keys: svc, probe: probe, iss: iss, tokens: spy, logs: logs}
}

// createKey issues a key for owner and forgets the store calls it cost.
func (f *fixture) createKey(t *testing.T, name string, limit int) keys.Created {
	t.Helper()
	c, err := f.keys.Create(t.Context(), owner, keys.User(owner.Sub), keys.CreateInput{Name: &name, DailyLimit: &limit})
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	f.probe.Calls()
	return c
}

func (f *fixture) revoke(t *testing.T, c keys.Created) {
	t.Helper()
	if err := f.keys.Revoke(t.Context(), owner, keys.User(owner.Sub), keys.Ref{Prefix: c.Key.Prefix}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) token(t *testing.T, tok devissuer.Token) string {
	t.Helper()
	s, err := f.iss.Mint(tok)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func event(headers map[string]string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	return events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: methodArn, Resource: "/v1/usage", Path: "/v1/usage", HTTPMethod: "GET",
		Headers: headers,
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
			Stage: "prod", HTTPMethod: "GET", ResourcePath: "/v1/usage", APIID: "a1b2c3d4e5",
		},
	}
}

func authz(v string) map[string]string { return map[string]string{"Authorization": v} }

func (f *fixture) handle(t *testing.T, headers map[string]string) (events.APIGatewayCustomAuthorizerResponse, error) {
	t.Helper()
	return f.a.Handle(t.Context(), event(headers))
}

// mustAllow fails t unless res allows the whole stage for sub and carries ctx.
func mustAllow(t *testing.T, res events.APIGatewayCustomAuthorizerResponse, err error, sub string, ctx map[string]any) {
	t.Helper()
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	want := events.APIGatewayCustomAuthorizerPolicy{
		Version: "2012-10-17",
		Statement: []events.IAMPolicyStatement{{
			Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{stageArn},
		}},
	}
	if !reflect.DeepEqual(res.PolicyDocument, want) {
		t.Fatalf("policy = %+v, want %+v", res.PolicyDocument, want)
	}
	if res.PrincipalID != sub {
		t.Fatalf("principalId = %q, want %q", res.PrincipalID, sub)
	}
	got := maps.Clone(res.Context)
	if ctx["exp"] == "*" {
		if got["exp"] == nil {
			t.Fatalf("context %#v has no exp", got)
		}
		got["exp"] = "*"
	}
	if !reflect.DeepEqual(got, ctx) {
		t.Fatalf("context = %#v, want %#v", res.Context, ctx)
	}
	for k, v := range res.Context {
		if _, ok := v.(string); !ok {
			t.Fatalf("context %s = %#v is not a string", k, v)
		}
	}
}

func mustDeny(t *testing.T, res events.APIGatewayCustomAuthorizerResponse, err error) {
	t.Helper()
	if !errors.Is(err, authorizer.ErrUnauthorized) {
		t.Fatalf("Handle error = %v, want ErrUnauthorized", err)
	}
	if err.Error() != "Unauthorized" {
		t.Fatalf("Handle error text = %q, want exactly Unauthorized (API Gateway matches it)", err.Error())
	}
	if !reflect.DeepEqual(res, events.APIGatewayCustomAuthorizerResponse{}) {
		t.Fatalf("a denial carries a response: %+v", res)
	}
}

func keyContext(c keys.Created, name, limit string) map[string]any {
	return map[string]any{
		"sub": "user-1", "tier": "pro", "teamId": "team-7", "authMethod": "key", "scopes": "*", "ownerKind": "user",
		"keyPrefix": c.Key.Prefix, "keyId": c.Key.ID, "keyName": name, "dailyLimit": limit,
		"budget": c.Key.Budget, "createdBy": "user-1",
	}
}

func TestAuthorizeKey(t *testing.T) {
	f := newFixture(t)
	k := f.createKey(t, "CI Pipeline", 1000)

	t.Run("active key is allowed on the stage as its owner with the key's prefix, name and limit", func(t *testing.T) {
		res, err := f.handle(t, authz("Bearer "+k.Secret.String()))
		mustAllow(t, res, err, "user-1", keyContext(k, "CI Pipeline", "1000"))
	})
	t.Run("key authorization costs exactly one GetItem", func(t *testing.T) {
		f.probe.Calls()
		_, err := f.handle(t, authz("Bearer "+k.Secret.String()))
		if err != nil {
			t.Fatal(err)
		}
		if got := f.probe.Calls(); !maps.Equal(got, map[string]int{"GetItem": 1}) {
			t.Fatalf("store calls = %v, want one GetItem", got)
		}
	})
	t.Run("a key is never tried as a JWT", func(t *testing.T) {
		if n := f.tokens.calls.Load(); n != 0 {
			t.Fatalf("verifier called %d times for key requests", n)
		}
	})
}

func TestAuthorizeJWT(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		tok  devissuer.Token
		ctx  map[string]any
	}{
		{"access token is allowed with authMethod jwt",
			devissuer.Token{Sub: "user-1", Tier: "pro", TeamID: "team-7"},
			map[string]any{"sub": "user-1", "tier": "pro", "teamId": "team-7", "authMethod": "jwt", "exp": "*"}},
		{"ID token is allowed with authMethod jwt",
			devissuer.Token{Sub: "user-2", Tier: "Enterprise", Use: "id"},
			map[string]any{"sub": "user-2", "tier": "enterprise", "teamId": "", "authMethod": "jwt", "exp": "*"}},
		{"token without tier is allowed as free",
			devissuer.Token{Sub: "user-3"},
			map[string]any{"sub": "user-3", "tier": "free", "teamId": "", "authMethod": "jwt", "exp": "*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.probe.Calls()
			res, err := f.handle(t, authz("Bearer "+f.token(t, tt.tok)))
			mustAllow(t, res, err, tt.tok.Sub, tt.ctx)
			if got := f.probe.Calls(); len(got) != 0 {
				t.Fatalf("a JWT cost store calls %v, want none", got)
			}
		})
	}
}

func TestBearerSchemeAndHeaderName(t *testing.T) {
	f := newFixture(t)
	k := f.createKey(t, "CI", 250)
	tok := f.token(t, devissuer.Token{Sub: "user-1", Tier: "pro", TeamID: "team-7"})
	jwtCtx := map[string]any{"sub": "user-1", "tier": "pro", "teamId": "team-7", "authMethod": "jwt", "exp": "*"}
	tests := []struct {
		name    string
		headers map[string]string
		ctx     map[string]any
	}{
		{"scheme bearer in lower case is accepted for a key", authz("bearer " + k.Secret.String()), keyContext(k, "CI", "250")},
		{"scheme BEARER in upper case is accepted for a key", authz("BEARER " + k.Secret.String()), keyContext(k, "CI", "250")},
		{"scheme bEaReR is accepted for a token", authz("bEaReR " + tok), jwtCtx},
		{"header name authorization in lower case is found", map[string]string{"authorization": "Bearer " + k.Secret.String()}, keyContext(k, "CI", "250")},
		{"header name AUTHORIZATION in upper case is found", map[string]string{"AUTHORIZATION": "Bearer " + tok}, jwtCtx},
		{"surrounding spaces are ignored", authz("  Bearer " + k.Secret.String() + "  "), keyContext(k, "CI", "250")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.handle(t, tt.headers)
			mustAllow(t, res, err, "user-1", tt.ctx)
		})
	}
}

func TestUnauthorized(t *testing.T) {
	f := newFixture(t)
	live := f.createKey(t, "live", 250)
	k := live.Secret
	revokedKey := f.createKey(t, "revoked", 250)
	f.revoke(t, revokedKey)
	revoked := revokedKey.Secret
	unknown, err := apikey.New()
	if err != nil {
		t.Fatal(err)
	}
	// Same public prefix as k, another secret.
	wrongSecret := k.Prefix() + strings.Repeat("0", apikey.Len-apikey.PrefixLen)
	if wrongSecret == k.String() {
		wrongSecret = k.Prefix() + strings.Repeat("1", apikey.Len-apikey.PrefixLen)
	}
	expired := f.iss.Claims(devissuer.Token{Sub: "user-1"})
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	expiredTok, err := f.iss.Sign(expired)
	if err != nil {
		t.Fatal(err)
	}
	tok := f.token(t, devissuer.Token{Sub: "user-1"})
	hex31 := k.String()[:apikey.Len-1]

	tests := []struct {
		name    string
		headers map[string]string
	}{
		{"no header is 401", map[string]string{}},
		{"nil headers are 401", nil},
		{"empty header is 401", authz("")},
		{"Basic scheme is 401", authz("Basic dXNlcjpwYXNz")},
		{"Token scheme is 401", authz("Token " + k.String())},
		{"Bearer with nothing is 401", authz("Bearer")},
		{"Bearer and a space with nothing is 401", authz("Bearer ")},
		{"bare key without scheme is 401", authz(k.String())},
		{"two credentials are 401", authz("Bearer " + k.String() + " " + k.String())},
		{"key and token are 401", authz("Bearer " + k.String() + " " + tok)},
		{"credentials split by a tab are 401", authz("Bearer " + k.String() + "\t" + tok)},
		{"a trailing no-break space is not whitespace: 401", authz("Bearer " + k.String() + "\u00a0")},
		{"a no-break space as separator is 401", authz("Bearer\u00a0" + k.String())},
		{"a trailing ideographic space is 401", authz("Bearer " + k.String() + "\u3000")},
		{"a trailing newline is 401", authz("Bearer " + k.String() + "\n")},
		{"a leading vertical tab is 401", authz("\vBearer " + k.String())},
		{"csk_live_ with 31 hex is 401", authz("Bearer " + hex31)},
		{"uppercase key is 401", authz("Bearer " + strings.ToUpper(k.String()))},
		{"uppercase hex of a real key is 401", authz("Bearer " + apikey.Live + strings.ToUpper(k.String()[len(apikey.Live):]))},
		{"test-mode key is 401", authz("Bearer csk_test_" + k.String()[len(apikey.Live):])},
		{"csk_ alone is 401", authz("Bearer csk_")},
		{"unknown prefix is 401", authz("Bearer " + unknown.String())},
		{"wrong secret for an existing prefix is 401", authz("Bearer " + wrongSecret)},
		{"revoked key is 401", authz("Bearer " + revoked.String())},
		{"garbage JWT is 401", authz("Bearer eyJhbGciOiJSUzI1NiJ9.garbage.x")},
		{"word that is not a JWT is 401", authz("Bearer hello")},
		{"expired JWT is 401", authz("Bearer " + expiredTok)},
		{"token with its signature cut off is 401", authz("Bearer " + tok[:strings.LastIndexByte(tok, '.')+1])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.handle(t, tt.headers)
			mustDeny(t, res, err)
		})
	}
	t.Run("the live key still works after all that", func(t *testing.T) {
		res, err := f.handle(t, authz("Bearer "+k.String()))
		mustAllow(t, res, err, "user-1", keyContext(live, "live", "250"))
	})
	t.Run("no key, token, header or hash reached the log", func(t *testing.T) {
		logs := f.logs.String()
		if !strings.Contains(logs, "denied") {
			t.Fatalf("denials were not logged: %s", logs)
		}
		for _, key := range []apikey.Key{k, revoked, unknown} {
			h := key.Hash()
			for _, secret := range []string{
				key.String(), key.String()[apikey.PrefixLen:],
				hex.EncodeToString(h[:]), base64.StdEncoding.EncodeToString(h[:]),
			} {
				if strings.Contains(logs, secret) {
					t.Fatalf("log carries a secret %q:\n%s", secret, logs)
				}
			}
		}
		for _, secret := range []string{wrongSecret, tok, expiredTok, tok[strings.LastIndexByte(tok, '.')+1:], "dXNlcjpwYXNz"} {
			if strings.Contains(logs, secret) {
				t.Fatalf("log carries a credential %q:\n%s", secret, logs)
			}
		}
	})
}

func TestKeyCredentialNeverTriedAsJWT(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, devissuer.Token{Sub: "user-1"})
	for _, cred := range []string{
		"csk_",
		"csk_live_",
		"csk_live_zzzz",
		"csk_test_a1b2c3d4e5f67890abcdef1234567890",
		"csk_" + tok, // a valid JWT behind the key scheme is still a (malformed) key
	} {
		t.Run("credential "+cred[:min(len(cred), 24)]+" goes to the key path only", func(t *testing.T) {
			res, err := f.handle(t, authz("Bearer "+cred))
			mustDeny(t, res, err)
			if n := f.tokens.calls.Load(); n != 0 {
				t.Fatalf("verifier called %d times", n)
			}
		})
	}
	t.Run("a malformed key costs no store call", func(t *testing.T) {
		if got := f.probe.Calls(); len(got) != 0 {
			t.Fatalf("store calls = %v, want none", got)
		}
	})
}

func TestStoreCalls(t *testing.T) {
	f := newFixture(t)
	c := f.createKey(t, "CI", 250)
	k := c.Secret

	t.Run("unknown prefix repeated 5 times costs one GetItem", func(t *testing.T) {
		unknown, _ := apikey.New()
		f.probe.Calls()
		for range 5 {
			res, err := f.handle(t, authz("Bearer "+unknown.String()))
			mustDeny(t, res, err)
		}
		if got := f.probe.Calls(); !maps.Equal(got, map[string]int{"GetItem": 1}) {
			t.Fatalf("store calls = %v, want one GetItem", got)
		}
	})
	t.Run("wrong secret for an existing prefix is not cached: each try costs one GetItem", func(t *testing.T) {
		wrong := k.Prefix() + strings.Repeat("f", apikey.Len-apikey.PrefixLen)
		f.probe.Calls()
		for range 3 {
			res, err := f.handle(t, authz("Bearer "+wrong))
			mustDeny(t, res, err)
		}
		if got := f.probe.Calls(); !maps.Equal(got, map[string]int{"GetItem": 3}) {
			t.Fatalf("store calls = %v, want three GetItem", got)
		}
		// Guessing at a public prefix must not lock its owner out.
		res, err := f.handle(t, authz("Bearer "+k.String()))
		mustAllow(t, res, err, "user-1", keyContext(c, "CI", "250"))
	})
	t.Run("without the positive cache a revoked key is refused here on the very next request", func(t *testing.T) {
		victim := f.createKey(t, "soon revoked", 250)
		res, err := f.handle(t, authz("Bearer "+victim.Secret.String()))
		mustAllow(t, res, err, "user-1", keyContext(victim, "soon revoked", "250"))
		f.revoke(t, victim)
		f.probe.Calls()
		res, err = f.handle(t, authz("Bearer "+victim.Secret.String()))
		mustDeny(t, res, err)
		if got := f.probe.Calls(); !maps.Equal(got, map[string]int{"GetItem": 1}) {
			t.Fatalf("store calls = %v, want one GetItem", got)
		}
		res, err = f.handle(t, authz("Bearer "+victim.Secret.String()))
		mustDeny(t, res, err)
		if got := f.probe.Calls(); len(got) != 0 {
			t.Fatalf("repeating a revoked key cost %v, want nothing (miss cache)", got)
		}
	})
}

func TestPositiveKeyCache(t *testing.T) {
	f := newCachingFixture(t, time.Minute)
	c := f.createKey(t, "CI", 250)
	auth := authz("Bearer " + c.Secret.String())

	t.Run("a warm key costs no store call", func(t *testing.T) {
		res, err := f.handle(t, auth)
		mustAllow(t, res, err, "user-1", keyContext(c, "CI", "250"))
		f.probe.Calls()
		for range 5 {
			res, err := f.handle(t, auth)
			mustAllow(t, res, err, "user-1", keyContext(c, "CI", "250"))
		}
		if got := f.probe.Calls(); len(got) != 0 {
			t.Fatalf("warm key cost %v, want nothing", got)
		}
	})
	t.Run("the cache is keyed by the whole key: a wrong secret for the prefix still reads and fails", func(t *testing.T) {
		wrong := c.Key.Prefix + strings.Repeat("e", apikey.Len-apikey.PrefixLen)
		res, err := f.handle(t, authz("Bearer "+wrong))
		mustDeny(t, res, err)
		if got := f.probe.Calls(); !maps.Equal(got, map[string]int{"GetItem": 1}) {
			t.Fatalf("store calls = %v", got)
		}
	})
	t.Run("a cached key past the expiry it had is read again (it may have been extended) and refused", func(t *testing.T) {
		exp := now.Add(30 * time.Second).Format(time.RFC3339)
		name := "short"
		g := f.createKey(t, name, 250)
		if _, err := f.keys.Update(t.Context(), owner, keys.User(owner.Sub), keys.Ref{Prefix: g.Key.Prefix}, keys.UpdateInput{ExpiresAt: &exp}); err != nil {
			t.Fatal(err)
		}
		res, err := f.handle(t, authz("Bearer "+g.Secret.String()))
		if err != nil {
			t.Fatal(err)
		}
		_ = res
		f.probe.Calls()
		later := now.Add(time.Minute - time.Second)
		f.a.Now = func() time.Time { return later }
		f.keys.Clock.(*clock.Fixed).Set(later)
		defer func() { f.a.Now = func() time.Time { return now }; f.keys.Clock.(*clock.Fixed).Set(now) }()
		res, err = f.handle(t, authz("Bearer "+g.Secret.String()))
		mustDeny(t, res, err)
		if got := f.probe.Calls(); !maps.Equal(got, map[string]int{"GetItem": 1}) {
			t.Fatalf("store calls = %v, want the one read that finds it expired", got)
		}
	})
	t.Run("the cache never holds the key itself", func(t *testing.T) {
		// Keyed by apikey.Hash; this documents the type, the compiler enforces it.
		var _ = f.a.Good
	})
}

func TestStoreFailure(t *testing.T) {
	f := newFixture(t)
	c := f.createKey(t, "CI", 250)
	f.probe.Fail("GetItem", true)
	_, err := f.handle(t, authz("Bearer "+c.Secret.String()))
	t.Run("store failure is not Unauthorized but ServiceUnavailable", func(t *testing.T) {
		if err == nil || errors.Is(err, authorizer.ErrUnauthorized) || err.Error() == "Unauthorized" {
			t.Fatalf("Handle error = %v, want a store failure", err)
		}
		var e *apierr.Error
		if !errors.As(err, &e) || e.Code != apierr.ServiceUnavailable {
			t.Fatalf("Handle error = %v, want apierr ServiceUnavailable", err)
		}
	})
	t.Run("a failed lookup is not remembered as a miss", func(t *testing.T) {
		f.probe.Fail("GetItem", false)
		res, err := f.handle(t, authz("Bearer "+c.Secret.String()))
		mustAllow(t, res, err, "user-1", keyContext(c, "CI", "250"))
	})
}

func TestJWKSUnreachableIsUnavailable(t *testing.T) {
	iss, err := devissuer.New(clientID)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(iss.Handler())
	iss.URL = srv.URL
	srv.Close()
	v, err := cognito.New(t.Context(), cognito.Options{Issuers: []string{iss.URL}, ClientIDs: []string{clientID}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("cognito.New with the JWKS down: %v", err)
	}
	tok, err := iss.Mint(devissuer.Token{Sub: "user-1"})
	if err != nil {
		t.Fatal(err)
	}
	a := authorizer.New(nil, v, nil, 0, slog.New(slog.DiscardHandler))
	_, err = a.Handle(context.Background(), event(authz("Bearer "+tok)))
	if err == nil || errors.Is(err, authorizer.ErrUnauthorized) || !errors.Is(err, cognito.ErrUnavailable) {
		t.Fatalf("Handle = %v, want an unavailable JWKS (503), not Unauthorized", err)
	}
}

func TestWorkspaceKeyPrincipal(t *testing.T) {
	f := newFixture(t)
	member := principal.Principal{Sub: "alice", Tier: principal.Team, TeamID: "ws-1", Method: principal.ViaJWT}
	name := "CI"
	c, err := f.keys.Create(t.Context(), member, keys.Workspace("ws-1"), keys.CreateInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.handle(t, authz("Bearer "+c.Secret.String()))
	mustAllow(t, res, err, "workspace:ws-1", map[string]any{
		"sub": "", "tier": "team", "teamId": "ws-1", "authMethod": "key", "scopes": "*", "ownerKind": "workspace", "workspaceId": "ws-1",
		"keyPrefix": c.Key.Prefix, "keyId": c.Key.ID, "keyName": "CI", "dailyLimit": "250", "budget": c.Key.Budget,
		"createdBy": "alice",
	})
	p, err := principal.FromContext(res.Context)
	if err != nil || !p.WorkspaceKey() || p.WorkspaceID != "ws-1" || p.KeyID != c.Key.ID || p.CreatedBy != "alice" {
		t.Fatalf("the functions see %+v (%v)", p, err)
	}
}

// TestScopedKeyPolicy: a key limited to scopes is allowed exactly the
// methods of the deployment's routes that need one of them or none (so a
// cached answer is right on every route); an unrestricted key and a JWT get
// the whole stage.
func TestScopedKeyPolicy(t *testing.T) {
	f := newCachingFixture(t, time.Minute)
	f.a.Routes = append(append(route.Table{}, route.Keygate...),
		route.Route{Method: "GET", Path: "/v1/reports", Scope: "reports:read"},
		route.Route{Method: "POST", Path: "/v1/reports/{id}/share", Scope: "reports:write", Cost: 5})
	f.keys.Scopes = f.a.Routes
	name, read := "read-only", []string{"reports:read"}
	c, err := f.keys.Create(t.Context(), owner, keys.User(owner.Sub), keys.CreateInput{Name: &name, Access: keys.Access{Scopes: &read}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the store's answer, then the positive cache's
		res, err := f.handle(t, authz("Bearer "+c.Secret.String()))
		if err != nil {
			t.Fatal(err)
		}
		stage := strings.TrimSuffix(stageArn, "/*")
		var want []string
		for _, rt := range route.Keygate {
			if rt.Scope == "" && !rt.Public {
				want = append(want, stage+"/"+rt.Resource())
			}
		}
		want = append(want, stage+"/GET/v1/reports")
		if got := res.PolicyDocument.Statement; len(got) != 1 || got[0].Effect != "Allow" || !reflect.DeepEqual(got[0].Resource, want) {
			t.Fatalf("policy %+v\nwant resources %v", got, want)
		}
		if res.Context["scopes"] != "reports:read" {
			t.Fatalf("context %v", res.Context)
		}
	}
	all := f.createKey(t, "all", 10)
	res, err := f.handle(t, authz("Bearer "+all.Secret.String()))
	if err != nil || !reflect.DeepEqual(res.PolicyDocument.Statement[0].Resource, []string{stageArn}) {
		t.Fatalf("%+v %v", res.PolicyDocument, err)
	}
}
