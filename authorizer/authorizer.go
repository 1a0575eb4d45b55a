// Package authorizer is keygate's API Gateway (REST) REQUEST authorizer: it
// turns the Authorization header into a principal. An API key costs one
// strongly consistent GetItem the first time, then nothing while it stays in
// the positive key cache; a Cognito JWT costs no store call at all. Anything
// that does not authenticate is the "Unauthorized" error, which API Gateway
// answers with 401 and the UNAUTHORIZED gateway response; a store or JWKS
// that cannot answer is any other error, which it answers with 503.
package authorizer

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/apikey"
	"github.com/keygate/keygate/shared/cognito"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/lambdahttp"
	"github.com/keygate/keygate/shared/lru"
	"github.com/keygate/keygate/shared/metrics"
	"github.com/keygate/keygate/shared/principal"
)

// ErrUnauthorized is the exact error API Gateway turns into a 401.
var ErrUnauthorized = errors.New("Unauthorized")

// KeyAuthenticator resolves an API key (keys.Service does).
type KeyAuthenticator interface {
	Authenticate(ctx context.Context, key apikey.Key) (keys.Record, error)
}

// TokenVerifier verifies a JWT (cognito.Verifier does).
type TokenVerifier interface {
	Verify(token string) (principal.Principal, error)
}

// Authorizer decides who a request is.
type Authorizer struct {
	Keys   KeyAuthenticator
	Tokens TokenVerifier
	// Misses remembers prefixes that are unknown or revoked, so a client
	// repeating a dead key does not cost a read each time. Never positive.
	Misses *MissCache
	// Good remembers keys that authenticated, by the SHA-256 of the key
	// (never the key), for GoodTTL or until the key expires if that is
	// sooner, so a warm key costs no read here. It may
	// hide from the authorizer, for up to GoodTTL, a revocation, an expiry,
	// a grace period's end, a suspension or a lowered limit; it never hides
	// them from the client, because the meter's one conditional write on the
	// key's budget refuses every one of them on the very next request. What
	// it can leave stale is only the key's name and tier in the principal.
	Good    *lru.Cache[apikey.Hash, goodKey]
	GoodTTL time.Duration
	Now     func() time.Time
	Log     *slog.Logger
	// Routes are the deployment's routes (default route.Keygate): a key
	// limited to some scopes is allowed only the methods that need one of
	// them (or none).
	Routes route.Table
	// scoped caches the Allow statements of each stage and scope set.
	scoped  sync.Map // policyKey -> []events.IAMPolicyStatement
	scopedN atomic.Int32
}

// goodKey is a cached authentication: who the key acts as and its authorizer
// context rendered once. It is kept for GoodTTL, and never past the key's own
// expiry: after that the store is asked again (the owner may have extended it).
type goodKey struct {
	p   principal.Principal
	ctx map[string]any
}

// Handle is the Lambda handler.
func (a *Authorizer) Handle(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	ctx, rec := metrics.Start(ctx) // metrics hook: one EMF line per invocation
	defer rec.Flush()
	authorization, _ := lambdahttp.Header(ev.Headers, "Authorization")
	p, rendered, err := a.authenticate(ctx, authorization)
	if err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, err
	}
	if rendered == nil {
		rendered = p.Context()
	}
	return a.allow(p, ev.MethodArn, rendered), nil
}

// Authenticate resolves an Authorization header value. Its errors are
// ErrUnauthorized, or a store failure (which API Gateway reports as an
// authorizer failure, rendered 503).
func (a *Authorizer) Authenticate(ctx context.Context, authorization string) (principal.Principal, error) {
	p, _, err := a.authenticate(ctx, authorization)
	return p, err
}

// authenticate also returns the principal's rendered context when a cache
// holds it (a warm key), nil otherwise.
func (a *Authorizer) authenticate(ctx context.Context, authorization string) (principal.Principal, map[string]any, error) {
	cred, ok := bearer(authorization)
	if !ok {
		metrics.Denial(ctx, metrics.ReasonNoCredential) // metrics hook
		return a.deny(ctx, "no bearer credential")
	}
	if strings.HasPrefix(cred, apikey.Scheme) {
		return a.authenticateKey(ctx, cred)
	}
	p, err := a.Tokens.Verify(cred)
	if errors.Is(err, cognito.ErrUnavailable) {
		a.log().ErrorContext(ctx, "token could not be checked", "error", err)
		metrics.Unavailable(ctx, metrics.Authorizer) // metrics hook: API Gateway answers 503
		return principal.Principal{}, nil, err
	}
	if err != nil {
		metrics.Denial(ctx, metrics.ReasonInvalidToken) // metrics hook
		return a.deny(ctx, "token refused", "error", err.Error())
	}
	return p, nil, nil
}

func (a *Authorizer) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

func (a *Authorizer) authenticateKey(ctx context.Context, cred string) (principal.Principal, map[string]any, error) {
	key, err := apikey.Parse(cred)
	if err != nil {
		metrics.Denial(ctx, metrics.ReasonMalformed) // metrics hook
		return a.deny(ctx, "malformed key")
	}
	prefix := key.Prefix()
	hash := key.Hash()
	now := a.now()
	if g, ok := a.Good.Get(hash, now); ok {
		return g.p, g.ctx, nil
	}
	// Only a key the caches do not answer reaches the store: its calls
	// share one deadline, inside the Lambda's.
	ctx, cancel := lambdahttp.WithinLambdaDeadline(ctx)
	defer cancel()
	if a.Misses.Contains(prefix) {
		metrics.Denial(ctx, metrics.ReasonUnknown) // metrics hook (the miss cache holds unknown, revoked and expired prefixes)
		return a.deny(ctx, "key unknown or revoked (cached)", "keyPrefix", prefix)
	}
	r, err := a.Keys.Authenticate(ctx, key)
	switch {
	case err == nil:
		p := r.Principal()
		rendered := p.Context()
		until := now.Add(a.GoodTTL)
		if !r.ExpiresAt.IsZero() && r.ExpiresAt.Before(until) {
			until = r.ExpiresAt
		}
		a.Good.Put(hash, goodKey{p: p, ctx: rendered}, until)
		return p, rendered, nil
	case errors.Is(err, keys.ErrExpired):
		// An expired key can never be used again (PATCH refuses it), so it is
		// as dead as a revoked one.
		a.Misses.Add(prefix)
		metrics.Denial(ctx, metrics.ReasonExpired) // metrics hook
		return a.deny(ctx, "key expired", "keyPrefix", prefix)
	case errors.Is(err, keys.ErrNotFound):
		a.Misses.Add(prefix)
		metrics.Denial(ctx, metrics.ReasonUnknown) // metrics hook
		return a.deny(ctx, "key unknown", "keyPrefix", prefix)
	case errors.Is(err, keys.ErrRevoked):
		a.Misses.Add(prefix)
		metrics.Denial(ctx, metrics.ReasonRevoked) // metrics hook
		return a.deny(ctx, "key revoked", "keyPrefix", prefix)
	case errors.Is(err, keys.ErrWrongSecret):
		// Not cached: the prefix is public, and caching it would let anyone
		// lock its owner out.
		metrics.Denial(ctx, metrics.ReasonWrongSecret) // metrics hook
		return a.deny(ctx, "key secret mismatch", "keyPrefix", prefix)
	default:
		a.log().ErrorContext(ctx, "key lookup failed", "keyPrefix", prefix, "error", err)
		metrics.Unavailable(ctx, metrics.Authorizer) // metrics hook: API Gateway answers 503
		return principal.Principal{}, nil, err
	}
}

// deny logs why a request is refused and answers as authenticate does.
func (a *Authorizer) deny(ctx context.Context, reason string, attrs ...any) (principal.Principal, map[string]any, error) {
	a.log().InfoContext(ctx, "denied", append([]any{"reason", reason}, attrs...)...)
	return principal.Principal{}, nil, ErrUnauthorized
}

func (a *Authorizer) log() *slog.Logger {
	if a.Log == nil {
		return slog.Default()
	}
	return a.Log
}

// bearer extracts the credential of "Bearer <credential>": scheme
// case-insensitive, separated and surrounded only by ASCII space and tab
// (RFC 9110's whitespace; a no-break space is part of the credential, which
// then fails to parse).
func bearer(h string) (string, bool) {
	h = trimSP(h)
	i := strings.IndexAny(h, " \t")
	if i < 0 || !strings.EqualFold(h[:i], "Bearer") {
		return "", false
	}
	cred := trimSP(h[i:])
	// Two byte scans, not IndexAny: a JWT is a kilobyte, and this runs on
	// every request.
	if cred == "" || strings.IndexByte(cred, ' ') >= 0 || strings.IndexByte(cred, '\t') >= 0 {
		return "", false
	}
	return cred, true
}

func trimSP(s string) string {
	return strings.Trim(s, " \t")
}

// allow is the policy for p: invoke on every method of the API's stage, so a
// cached decision (API Gateway's result cache) holds across routes; for a key
// limited to some scopes, invoke on exactly the methods it may call, which
// again holds on every route. The principal travels in ctx, its rendered
// context.
func (a *Authorizer) allow(p principal.Principal, methodArn string, ctx map[string]any) events.APIGatewayCustomAuthorizerResponse {
	stage := stageARN(methodArn)
	st := allowStatements(stage)
	if p.Method == principal.ViaKey && p.Scopes != principal.AllScopes {
		st = a.scopedStatements(stage, p.Scopes)
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID:    p.ID(),
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: st},
		Context:        ctx,
	}
}

// statements caches the Allow statements of each stage ARN (and, for scoped
// keys, each scope set): a deployment has a handful, and building one is
// most of allow's allocations.
var (
	statements   sync.Map // policyKey -> []events.IAMPolicyStatement
	statementsN  atomic.Int32
	invokeAction = []string{"execute-api:Invoke"}
)

type policyKey struct{ stage, scopes string }

const maxCachedStatements = 1024

func allowStatements(stage string) []events.IAMPolicyStatement {
	return cachedStatements(&statements, &statementsN, policyKey{stage: stage}, func() []string { return []string{stage + "/*"} })
}

// scopedStatements allows the methods of the deployment's routes that need
// no scope or one of scopes (canonical, space-separated).
func (a *Authorizer) scopedStatements(stage, scopes string) []events.IAMPolicyStatement {
	return cachedStatements(&a.scoped, &a.scopedN, policyKey{stage, scopes}, func() []string {
		routes := a.Routes
		if routes == nil {
			routes = route.Keygate
		}
		p := principal.Principal{Method: principal.ViaKey, Scopes: scopes}
		var resources []string
		for _, rt := range routes {
			if !rt.Public && p.HasScope(rt.Scope) {
				resources = append(resources, stage+"/"+rt.Resource())
			}
		}
		return resources
	})
}

func cachedStatements(cache *sync.Map, n *atomic.Int32, k policyKey, resources func() []string) []events.IAMPolicyStatement {
	if st, ok := cache.Load(k); ok {
		return st.([]events.IAMPolicyStatement)
	}
	st := []events.IAMPolicyStatement{{Action: invokeAction, Effect: "Allow", Resource: resources()}}
	if n.Load() < maxCachedStatements {
		k := policyKey{strings.Clone(k.stage), strings.Clone(k.scopes)}
		if _, loaded := cache.LoadOrStore(k, st); !loaded {
			n.Add(1)
		}
	}
	return st
}

// stageARN cuts arn:...:apiId/stage/METHOD/path to arn:...:apiId/stage, a
// substring of methodArn (no copy on the hot path).
func stageARN(methodArn string) string {
	i := strings.IndexByte(methodArn, '/')
	if i < 0 {
		return methodArn
	}
	j := strings.IndexByte(methodArn[i+1:], '/')
	if j < 0 {
		return methodArn
	}
	return methodArn[:i+1+j]
}

// Miss cache sizing: 10 000 prefixes is under 1 MB; five minutes keeps a dead
// key in a retry loop down to one read per container per five minutes.
const (
	missCacheSize = 10_000
	missCacheTTL  = 5 * time.Minute
)

// goodCacheSize bounds the positive key cache: 10 000 principals is a few MB.
const goodCacheSize = 10_000

// New returns an authorizer of the deployment's routes (nil: keygate's own;
// a product's too, so that a scoped key's policy lists them) with the
// default miss cache and a positive key cache of goodTTL (0 turns it off).
func New(k KeyAuthenticator, t TokenVerifier, routes route.Table, goodTTL time.Duration, log *slog.Logger) *Authorizer {
	a := &Authorizer{Keys: k, Tokens: t, Routes: routes, Misses: NewMissCache(missCacheSize, missCacheTTL), GoodTTL: goodTTL, Log: log}
	if goodTTL > 0 {
		a.Good = lru.New[apikey.Hash, goodKey](goodCacheSize)
	}
	return a
}
