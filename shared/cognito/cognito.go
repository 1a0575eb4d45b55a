// Package cognito verifies Amazon Cognito JWTs (ID and access tokens) against
// each trusted user pool's JWKS, fetched over HTTP and cached. An unknown kid
// triggers at most one refetch per UnknownKIDRefresh. A token already
// verified is not verified again: a bounded LRU keyed by the token's SHA-256
// remembers who it is for until it expires, and is dropped whenever a JWKS
// changes. A JWKS that cannot be fetched for a kid not seen yet makes the
// answer ErrUnavailable (503), never a 401 that blames a good token.
package cognito

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/keygate/keygate/shared/lru"
	"github.com/keygate/keygate/shared/principal"
)

// Leeway is the clock skew allowed on exp, nbf and iat.
const Leeway = principal.TokenLeeway

// jwksTimeout bounds a JWKS fetch, including one an unknown kid triggers
// during a request: well inside the authorizer's 5 s Lambda timeout.
const jwksTimeout = 2 * time.Second

// maxJWKS bounds a JWKS response body.
const maxJWKS = 1 << 20

// DefaultCacheSize is how many verified tokens are remembered: a few MB.
const DefaultCacheSize = 10_000

var (
	// ErrInvalidToken is every reason a token is refused; the detail is
	// wrapped for the log.
	ErrInvalidToken = errors.New("invalid token")
	// ErrUnavailable means the token could not be checked: its signing key
	// is not known yet and the JWKS cannot be fetched.
	ErrUnavailable = errors.New("token signing keys unavailable")
)

// Options configure a Verifier.
type Options struct {
	// Issuers are the trusted iss values, e.g.
	// https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc; each one's
	// JWKS is at <issuer>/.well-known/jwks.json.
	Issuers []string
	// JWKSURL overrides the JWKS location (one issuer only).
	JWKSURL   string
	ClientIDs []string // accepted app clients (client_id of access tokens, aud of ID tokens)
	// UnknownKIDRefresh is the least time between refetches caused by an
	// unknown kid. Default one minute.
	UnknownKIDRefresh time.Duration
	// RefreshInterval refetches the JWKS in the background. Default one hour.
	RefreshInterval time.Duration
	// CacheSize bounds the verified-token cache; negative turns it off.
	CacheSize  int
	HTTPClient *http.Client
	Now        func() time.Time // default time.Now
	Log        *slog.Logger
	// OnFetch observes every JWKS fetch (metrics).
	OnFetch func(ok bool)
}

// Verifier checks Cognito tokens.
type Verifier struct {
	issuers   map[string]*issuer
	clientIDs []string
	now       func() time.Time
	cache     *lru.Cache[[sha256.Size]byte, cached]
	// generation counts JWKS changes; a cached verification from an older
	// generation is not trusted.
	generation atomic.Uint64
}

// issuer is one trusted pool: its JWKS (keyfunc's storage, which refetches
// on an unknown kid within the rate limit) and whether its last fetch
// failed.
type issuer struct {
	// tag qualifies the identities of every issuer but the first
	// (principal.Qualify): a user is (issuer, sub).
	tag     string
	keys    jwkset.Storage
	ctx     context.Context
	failing atomic.Bool
}

type cached struct {
	p   principal.Principal
	gen uint64
}

// New starts a verifier. It does not fail when a JWKS cannot be fetched
// yet: tokens of that pool are answered ErrUnavailable until it can.
func New(ctx context.Context, o Options) (*Verifier, error) {
	if len(o.Issuers) == 0 || len(o.ClientIDs) == 0 {
		return nil, errors.New("cognito: at least one issuer and one client id are required")
	}
	if o.JWKSURL != "" && len(o.Issuers) > 1 {
		return nil, errors.New("cognito: a JWKS URL override needs exactly one issuer")
	}
	if o.UnknownKIDRefresh == 0 {
		o.UnknownKIDRefresh = time.Minute
	}
	if o.RefreshInterval == 0 {
		o.RefreshInterval = time.Hour
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: jwksTimeout}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	v := &Verifier{issuers: map[string]*issuer{}, clientIDs: o.ClientIDs, now: o.Now}
	if o.CacheSize > 0 {
		v.cache = lru.New[[sha256.Size]byte, cached](o.CacheSize)
	}
	for _, iss := range o.Issuers {
		url := o.JWKSURL
		if url == "" {
			url = iss + "/.well-known/jwks.json"
		}
		is := &issuer{}
		client := *o.HTTPClient
		client.Transport = &watch{next: transport(o.HTTPClient), is: is, v: v, onFetch: o.OnFetch}
		noErr := true
		kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{url}, keyfunc.Override{
			Client:                    &client,
			HTTPTimeout:               jwksTimeout,
			NoErrorReturnFirstHTTPReq: &noErr,
			// Look in the fetched JWKS first: there is no other key source,
			// and the empty "given" store would build an error per lookup.
			PrioritizeHTTP: true,
			// The wait bounds the refetch itself; a limiter with no token
			// left answers at once rather than waiting for the next minute.
			RateLimitWaitMax:  jwksTimeout,
			RefreshInterval:   o.RefreshInterval,
			RefreshUnknownKID: rate.NewLimiter(rate.Every(o.UnknownKIDRefresh), 1),
			RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
				return func(ctx context.Context, err error) {
					is.failing.Store(true)
					log.WarnContext(ctx, "JWKS fetch failed", "url", u, "error", err)
				}
			},
		})
		if err != nil {
			return nil, fmt.Errorf("cognito: JWKS client for %s: %w", iss, err)
		}
		is.keys, is.ctx = kf.Storage(), ctx
		if iss != o.Issuers[0] {
			is.tag = principal.IssuerTagOf(iss)
		}
		v.issuers[iss] = is
	}
	return v, nil
}

func transport(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}

// watch records the outcome of each JWKS fetch: whether the pool's keys can
// be fetched right now, and whether they changed (which drops every cached
// verification).
type watch struct {
	next    http.RoundTripper
	is      *issuer
	v       *Verifier
	onFetch func(bool)
	last    atomic.Pointer[[sha256.Size]byte]
}

func (w *watch) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(r)
	ok := err == nil && resp.StatusCode == http.StatusOK
	if ok {
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxJWKS))
		resp.Body.Close()
		if rerr != nil {
			ok, err = false, rerr
		} else {
			resp.Body = io.NopCloser(bytes.NewReader(body))
			sum := sha256.Sum256(body)
			if prev := w.last.Swap(&sum); prev != nil && *prev != sum {
				w.v.generation.Add(1)
			}
		}
	}
	// A body that does not parse is reported by keyfunc's error handler,
	// which marks the pool failing again.
	w.is.failing.Store(!ok)
	if w.onFetch != nil {
		w.onFetch(ok)
	}
	return resp, err
}

// key finds the RS256 key kid in the pool the token claims to come from (a
// token of any other issuer is refused before any key is looked up); an
// unknown kid refetches the pool's JWKS within its rate limit. A kid that
// is not found while the pool's JWKS cannot be fetched is ErrUnavailable.
func (v *Verifier) key(c *Claims, kid string) (*rsa.PublicKey, error) {
	is, ok := v.issuers[c.Issuer]
	if !ok {
		return nil, fmt.Errorf("%w: issuer %q is not trusted", ErrInvalidToken, c.Issuer)
	}
	jwk, err := is.keys.KeyRead(is.ctx, kid)
	if err != nil {
		if is.failing.Load() {
			return nil, fmt.Errorf("%w: key %q: %w", ErrUnavailable, kid, err)
		}
		return nil, fmt.Errorf("%w: key %q: %w", ErrInvalidToken, kid, err)
	}
	if a := jwk.Marshal().ALG.String(); a != "" && a != "RS256" {
		return nil, fmt.Errorf("%w: key %q is for %s, not RS256", ErrInvalidToken, kid, a)
	}
	pub, ok := jwk.Key().(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: key %q is not an RSA public key", ErrInvalidToken, kid)
	}
	return pub, nil
}

// Verify checks a token and returns who it is for. Errors wrap
// ErrInvalidToken (401) or ErrUnavailable (503).
func (v *Verifier) Verify(token string) (principal.Principal, error) {
	now := v.now()
	var sum [sha256.Size]byte
	gen := v.generation.Load()
	if v.cache != nil {
		// Hashed in place: the token is read, never kept or changed.
		sum = sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
		if c, ok := v.cache.Get(sum, now); ok && c.gen == gen {
			return c.p, nil
		}
	}
	p, err := v.verify(token, now)
	if err != nil {
		return principal.Principal{}, err
	}
	if v.cache != nil {
		// Served until exp plus the leeway the parser allows, as a fresh
		// verification would be.
		v.cache.Put(sum, cached{p: p, gen: gen}, p.Exp.Add(Leeway))
	}
	return p, nil
}

// verify checks token at now, the instant Verify read the cache at.
func (v *Verifier) verify(token string, now time.Time) (principal.Principal, error) {
	var c Claims
	jws, err := parseCompact(token, &c)
	if err != nil {
		return principal.Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	pub, err := v.key(&c, jws.kid)
	if err != nil {
		return principal.Principal{}, err
	}
	if err := jwt.SigningMethodRS256.Verify(jws.signingInput, jws.sig, pub); err != nil {
		return principal.Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if err := c.checkTimes(now); err != nil {
		return principal.Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	switch c.TokenUse {
	case "access":
		if !slices.Contains(v.clientIDs, c.ClientID) {
			return principal.Principal{}, fmt.Errorf("%w: access token for an unknown client", ErrInvalidToken)
		}
	case "id":
		if !slices.ContainsFunc(c.Audience, func(a string) bool { return slices.Contains(v.clientIDs, a) }) {
			return principal.Principal{}, fmt.Errorf("%w: ID token for an unknown audience", ErrInvalidToken)
		}
	default:
		return principal.Principal{}, fmt.Errorf("%w: token_use %q is neither access nor id", ErrInvalidToken, c.TokenUse)
	}
	if c.Subject == "" {
		return principal.Principal{}, fmt.Errorf("%w: no sub", ErrInvalidToken)
	}
	return principal.Principal{
		Sub:       c.Subject,
		Tier:      principal.ParseTier(c.Tier),
		TeamID:    c.TeamID,
		Method:    principal.ViaJWT,
		Exp:       time.Unix(c.ExpiresAt, 0).UTC(),
		IssuerTag: v.issuers[c.Issuer].tag,
		Email:     c.Email,
	}, nil
}
