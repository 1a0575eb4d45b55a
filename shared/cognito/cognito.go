// Package cognito verifies Amazon Cognito JWTs (ID and access tokens) against
// each trusted user pool's JWKS, fetched over HTTP and cached. A token already
// verified is not verified again: a bounded LRU keyed by the token's SHA-256
// remembers who it is for until it expires, and is dropped whenever a JWKS
// changes.
//
// A kid the cached JWKS lacks makes the verifier fetch the JWKS again, with at
// most one fetch in flight per pool and fetches for unseen kids at least
// UnknownKIDRefresh (5 s) apart. A token with an unseen kid is refused (401)
// only when a JWKS fetched for it (or one in flight when it arrived) does not
// list the kid; when the fetch fails, or the spacing allows none yet, the
// answer is ErrUnavailable (503): it may be a key the pool published a moment
// ago, and keygate cannot decide. So tokens with made-up kids can neither make
// a good token 401 nor delay a real new signing key by more than the spacing
// and one fetch.
package cognito

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

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

// DefaultUnknownKIDRefresh is the least time between two JWKS fetches caused
// by unseen kids: well under the contract's 10 s, so a real new signing key
// is accepted within it plus one fetch however many made-up kids arrive, and
// one fetch per 5 s per container is all they can cost the pool's endpoint.
const DefaultUnknownKIDRefresh = 5 * time.Second

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
	// UnknownKIDRefresh is the least time between JWKS fetches caused by
	// unseen kids (wall-clock time, not Now). Default
	// DefaultUnknownKIDRefresh.
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

// issuer is one trusted pool: its signing keys from the last JWKS fetched,
// and the state of its fetches.
type issuer struct {
	// tag qualifies the identities of every issuer but the first
	// (principal.Qualify): a user is (issuer, sub).
	tag     string
	url     string
	client  *http.Client
	spacing time.Duration
	ctx     context.Context
	v       *Verifier
	log     *slog.Logger
	onFetch func(ok bool)

	keys atomic.Pointer[map[string]signingKey]

	mu        sync.Mutex
	attempted time.Time // start of the last fetch for an unseen kid; zero: none yet
	running   *fetchRun // the fetch in flight, nil when none
	lastSum   *[sha256.Size]byte
}

// signingKey is one JWKS entry: an RS256 key, or why it cannot verify.
type signingKey struct {
	pub *rsa.PublicKey
	err error
}

// fetchRun is one JWKS fetch; err is set before done is closed.
type fetchRun struct {
	done chan struct{}
	err  error
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
		o.UnknownKIDRefresh = DefaultUnknownKIDRefresh
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
		is := &issuer{url: url, client: o.HTTPClient, spacing: o.UnknownKIDRefresh, ctx: ctx, v: v, log: log, onFetch: o.OnFetch}
		if iss != o.Issuers[0] {
			is.tag = principal.IssuerTagOf(iss)
		}
		is.keys.Store(&map[string]signingKey{})
		// A pool whose JWKS cannot be fetched yet is not an error: its
		// tokens are ErrUnavailable until it can.
		is.refresh()
		go is.refreshEvery(o.RefreshInterval)
		v.issuers[iss] = is
	}
	return v, nil
}

// refreshEvery fetches the JWKS in the background until the verifier's
// context ends.
func (is *issuer) refreshEvery(d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-is.ctx.Done():
			return
		case <-t.C:
			is.refresh()
		}
	}
}

// refresh fetches the JWKS, or waits for the fetch already in flight.
func (is *issuer) refresh() error {
	is.mu.Lock()
	run, mine := is.start()
	is.mu.Unlock()
	return is.finish(run, mine)
}

// start returns the fetch in flight, or a new one the caller must run
// (mine). The caller holds mu.
func (is *issuer) start() (run *fetchRun, mine bool) {
	if is.running != nil {
		return is.running, false
	}
	is.running = &fetchRun{done: make(chan struct{})}
	return is.running, true
}

// finish runs the fetch if it is the caller's, else waits for it, and
// returns its outcome.
func (is *issuer) finish(run *fetchRun, mine bool) error {
	if !mine {
		<-run.done
		return run.err
	}
	run.err = is.fetch()
	is.mu.Lock()
	is.running = nil
	is.mu.Unlock()
	close(run.done)
	return run.err
}

// fetch gets the JWKS and, if it parses, makes it the pool's keys. A JWKS
// that differs from the last one drops every cached verification.
func (is *issuer) fetch() (err error) {
	defer func() {
		if err != nil {
			is.log.WarnContext(is.ctx, "JWKS fetch failed", "url", is.url, "error", err)
		}
		if is.onFetch != nil {
			is.onFetch(err == nil)
		}
	}()
	ctx, cancel := context.WithTimeout(is.ctx, jwksTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, is.url, nil)
	if err != nil {
		return err
	}
	resp, err := is.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("JWKS answered %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKS+1))
	if err != nil {
		return fmt.Errorf("read JWKS: %w", err)
	}
	if len(body) > maxJWKS {
		return fmt.Errorf("JWKS larger than %d bytes", maxJWKS)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	is.mu.Lock()
	if is.lastSum != nil && *is.lastSum != sum {
		is.v.generation.Add(1)
	}
	is.lastSum = &sum
	is.keys.Store(&keys)
	is.mu.Unlock()
	return nil
}

// parseJWKS reads a JWKS document into its keys by kid. Keys of a type this
// package does not know are left out; one that does not parse fails the
// whole document (the last good keys stay in use).
func parseJWKS(body []byte) (map[string]signingKey, error) {
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("JWKS is not JSON: %w", err)
	}
	keys := make(map[string]signingKey, len(set.Keys))
	for _, m := range set.Keys {
		if m.KID == "" {
			continue
		}
		jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if errors.Is(err, jwkset.ErrUnsupportedKey) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("JWKS key %q: %w", m.KID, err)
		}
		k := signingKey{}
		if a := jwk.Marshal().ALG.String(); a != "" && a != "RS256" {
			k.err = fmt.Errorf("%w: key %q is for %s, not RS256", ErrInvalidToken, m.KID, a)
		} else if pub, ok := jwk.Key().(*rsa.PublicKey); ok {
			k.pub = pub
		} else {
			k.err = fmt.Errorf("%w: key %q is not an RSA public key", ErrInvalidToken, m.KID)
		}
		keys[m.KID] = k
	}
	return keys, nil
}

func (is *issuer) lookup(kid string) (signingKey, bool) {
	k, ok := (*is.keys.Load())[kid]
	return k, ok
}

// key finds the RS256 key kid in the pool the token claims to come from (a
// token of any other issuer is refused before any key is looked up). An
// unseen kid is looked for in a JWKS fetched for it, within the fetch
// spacing: ErrInvalidToken when that JWKS lacks it, ErrUnavailable when the
// fetch failed or none may start yet.
func (v *Verifier) key(c *Claims, kid string) (*rsa.PublicKey, error) {
	is, ok := v.issuers[c.Issuer]
	if !ok {
		return nil, fmt.Errorf("%w: issuer %q is not trusted", ErrInvalidToken, c.Issuer)
	}
	if k, ok := is.lookup(kid); ok {
		return k.pub, k.err
	}
	return is.fetchFor(kid)
}

// fetchFor fetches the JWKS for an unseen kid, or waits for the fetch in
// flight, and looks again.
func (is *issuer) fetchFor(kid string) (*rsa.PublicKey, error) {
	is.mu.Lock()
	if since := time.Since(is.attempted); is.running == nil && !is.attempted.IsZero() && since < is.spacing {
		is.mu.Unlock()
		// The last fetch may have been made for a made-up kid a moment
		// before the pool published this one: not a reason to blame it.
		return nil, fmt.Errorf("%w: key %q is not in the JWKS and the next fetch may start in %v",
			ErrUnavailable, kid, (is.spacing - since).Round(time.Millisecond))
	}
	run, mine := is.start()
	if mine {
		is.attempted = time.Now()
	}
	is.mu.Unlock()
	err := is.finish(run, mine)
	if k, ok := is.lookup(kid); ok {
		return k.pub, k.err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: key %q: the JWKS cannot be fetched: %w", ErrUnavailable, kid, err)
	}
	return nil, fmt.Errorf("%w: key %q is not in the pool's JWKS", ErrInvalidToken, kid)
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
