package authorizer_test

import (
	"github.com/keygate/keygate/route"

	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keygate/keygate/authorizer"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/shared/apikey"
	"github.com/keygate/keygate/shared/cognito"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/principal"
)

// The targets these are read against (reported by make bench, not asserted):
// the JWT path on a token seen for the first time within 1.3x of
// BenchmarkRSA2048Verify, since the signature check should dominate it; a
// repeated token under 2 µs/op; the key path on a positive-cache hit under
// 1 µs/op, and on a miss (before its one GetItem) under 5 µs/op.

// BenchmarkRSA2048Verify is the floor under the JWT path: one PKCS #1 v1.5
// verification of a SHA-256 digest with a 2048-bit key, as RS256 does.
func BenchmarkRSA2048Verify(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("eyJhbGciOiJSUzI1NiIsImtpZCI6ImRldiJ9.eyJzdWIiOiJ1c2VyLTEifQ"))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	pub := &key.PublicKey
	b.ReportAllocs()
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// jwtBench is an authorizer whose verifier fetched a dev issuer's JWKS over
// httptest before the timer starts, so no operation touches the network,
// and n distinct tokens of that issuer.
func jwtBench(b *testing.B, cacheSize, n int) (*authorizer.Authorizer, []string) {
	iss, err := devissuer.New(clientID)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(iss.Handler())
	b.Cleanup(srv.Close)
	iss.URL = srv.URL
	discard := slog.New(slog.DiscardHandler)
	v, err := cognito.New(b.Context(), cognito.Options{Issuers: []string{iss.URL}, ClientIDs: []string{clientID}, Log: discard, CacheSize: cacheSize})
	if err != nil {
		b.Fatal(err)
	}
	toks := make([]string, n)
	for i := range toks {
		if toks[i], err = iss.Mint(devissuer.Token{Sub: "user-1", Tier: "pro", TeamID: "team-7"}); err != nil {
			b.Fatal(err)
		}
	}
	return authorizer.New(nil, v, nil, 0, discard), toks
}

// BenchmarkAuthorizeJWT is Handle on a full REQUEST event carrying a real
// devissuer access token seen for the first time: it cycles through 64
// distinct tokens with a verification cache of one entry, so every operation
// pays the whole first-sight path (hash, cache miss, RS256 verify, claims,
// policy, cache insert).
func BenchmarkAuthorizeJWT(b *testing.B) {
	a, toks := jwtBench(b, 1, 64)
	evs := make([]events.APIGatewayCustomAuthorizerRequestTypeRequest, len(toks))
	for i, tok := range toks {
		evs[i] = benchEvent("Bearer " + tok)
	}
	ctx := context.Background()
	if _, err := a.Handle(ctx, evs[0]); err != nil {
		b.Fatalf("token refused: %v", err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := a.Handle(ctx, evs[i%len(evs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkAuthorizeJWTRepeated is Handle on a token verified before: a hash
// and a cache hit, no signature check.
func BenchmarkAuthorizeJWTRepeated(b *testing.B) {
	a, toks := jwtBench(b, cognito.DefaultCacheSize, 1)
	ev := benchEvent("Bearer " + toks[0])
	ctx := context.Background()
	if _, err := a.Handle(ctx, ev); err != nil {
		b.Fatalf("token refused: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Handle(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

// memKeys is a one-key KeyAuthenticator held in memory. It does what
// keys.Service.Authenticate does after its GetItem (prefix lookup, constant-
// time hash check, status), so BenchmarkAuthorizeKey measures the
// authorizer's own work on the key path, excluding the DynamoDB round trip
// that dominates it in production. It is a benchmark stand-in for the key
// service, not a DynamoDB fake; the tests use the real store.
type memKeys struct{ r keys.Record }

func (m memKeys) Authenticate(_ context.Context, k apikey.Key) (keys.Record, error) {
	if k.Prefix() != m.r.Prefix {
		return keys.Record{}, keys.ErrNotFound
	}
	if !k.Matches(m.r.Hash) {
		return keys.Record{}, keys.ErrWrongSecret
	}
	if m.r.Status != keys.Active {
		return keys.Record{}, keys.ErrRevoked
	}
	return m.r, nil
}

func benchRecord(b *testing.B) (apikey.Key, keys.Record) {
	k, err := apikey.New()
	if err != nil {
		b.Fatal(err)
	}
	created := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	return k, keys.Record{
		Prefix: k.Prefix(), ID: "550e8400-e29b-41d4-a716-446655440000", Hash: k.Hash(), Owner: keys.User("user-1"),
		CreatedBy: "user-1", Budget: "550e8400-e29b-41d4-a716-446655440000", Tier: principal.Pro, TeamID: "team-7",
		Name: "CI Pipeline", DailyLimit: 1000, Status: keys.Active, CreatedAt: created, UpdatedAt: created,
	}
}

// BenchmarkAuthorizeKey is Handle on a full REQUEST event carrying a valid
// key that the positive key cache holds: a parse, a SHA-256 and a cache hit.
func BenchmarkAuthorizeKey(b *testing.B) {
	k, r := benchRecord(b)
	a := authorizer.New(memKeys{r}, nil, nil, time.Hour, slog.New(slog.DiscardHandler))
	benchKey(b, a, k)
}

// BenchmarkAuthorizeKeyScoped is BenchmarkAuthorizeKey for a key limited to
// one scope (and two networks): its policy lists its routes' method ARNs,
// built once per stage and scope set.
func BenchmarkAuthorizeKeyScoped(b *testing.B) {
	k, r := benchRecord(b)
	r.Scopes, r.AllowedIPs = "reports:read", "203.0.113.0/24,2001:db8::/32"
	routes := append(append(route.Table{}, route.Keygate...), route.Route{Method: "GET", Path: "/v1/reports", Scope: "reports:read"})
	a := authorizer.New(memKeys{r}, nil, routes, time.Hour, slog.New(slog.DiscardHandler))
	benchKey(b, a, k)
}

// BenchmarkAuthorizeKeyMiss is the same without the positive cache, with the
// key service in memory (see memKeys): the authorizer's own work around the
// GetItem that dominates a cold key request in production.
func BenchmarkAuthorizeKeyMiss(b *testing.B) {
	k, r := benchRecord(b)
	a := authorizer.New(memKeys{r}, nil, nil, 0, slog.New(slog.DiscardHandler))
	benchKey(b, a, k)
}

func benchKey(b *testing.B, a *authorizer.Authorizer, k apikey.Key) {
	ctx := context.Background()
	ev := benchEvent("Bearer " + k.String())
	if _, err := a.Handle(ctx, ev); err != nil {
		b.Fatalf("key refused: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Handle(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEvent is a REQUEST event as API Gateway sends it for GET /v1/usage.
func benchEvent(authorization string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	headers := map[string]string{
		"Accept":            "application/json",
		"Authorization":     authorization,
		"Host":              "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
		"User-Agent":        "curl/8.5.0",
		"X-Amzn-Trace-Id":   "Root=1-67890abc-def0123456789abcdef01234",
		"X-Forwarded-For":   "203.0.113.7",
		"X-Forwarded-Port":  "443",
		"X-Forwarded-Proto": "https",
	}
	multi := make(map[string][]string, len(headers))
	for k, v := range headers {
		multi[k] = []string{v}
	}
	return events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: methodArn, Resource: "/v1/usage", Path: "/v1/usage", HTTPMethod: "GET",
		Headers: headers, MultiValueHeaders: multi,
		QueryStringParameters:           map[string]string{"days": "7"},
		MultiValueQueryStringParameters: map[string][]string{"days": {"7"}},
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
			Path: "/prod/v1/usage", AccountID: "123456789012", ResourcePath: "/v1/usage", Stage: "prod",
			RequestID: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", HTTPMethod: "GET", APIID: "a1b2c3d4e5",
			Identity: events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: "203.0.113.7"},
		},
	}
}
