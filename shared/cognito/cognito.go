// Package cognito verifies Amazon Cognito JWTs (ID and access tokens) against
// the user pool's JWKS, fetched over HTTP and cached. An unknown kid triggers
// at most one refetch per RefreshInterval, and a JWKS endpoint that is down
// makes tokens fail verification (401), never the process.
package cognito

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/keygate/keygate/shared/principal"
)

// Leeway is the clock skew allowed on exp, nbf and iat.
const Leeway = 60 * time.Second

// jwksTimeout bounds a JWKS fetch, including one an unknown kid triggers
// during a request: well inside the authorizer's 5 s Lambda timeout.
const jwksTimeout = 2 * time.Second

// ErrInvalidToken is every reason a token is refused; the detail is wrapped
// for the log.
var ErrInvalidToken = errors.New("invalid token")

// Options configure a Verifier.
type Options struct {
	Issuer    string   // iss, e.g. https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc
	JWKSURL   string   // default Issuer + /.well-known/jwks.json
	ClientIDs []string // accepted app clients (client_id of access tokens, aud of ID tokens)
	// UnknownKIDRefresh is the least time between refetches caused by an
	// unknown kid. Default one minute.
	UnknownKIDRefresh time.Duration
	// RefreshInterval refetches the JWKS in the background. Default one hour.
	RefreshInterval time.Duration
	HTTPClient      *http.Client
	Now             func() time.Time // default time.Now
	Log             *slog.Logger
}

// Verifier checks Cognito tokens.
type Verifier struct {
	parser    *jwt.Parser
	keyfunc   jwt.Keyfunc
	clientIDs []string
}

// Claims are the Cognito claims keygate reads. Times and strings are plain
// fields (not jwt.RegisteredClaims' types with their own JSON decoders): the
// claims are decoded on every request, and this halves that cost.
type Claims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  audience `json:"aud"`
	ExpiresAt float64  `json:"exp"`
	NotBefore float64  `json:"nbf"`
	IssuedAt  float64  `json:"iat"`
	TokenUse  string   `json:"token_use"`
	ClientID  string   `json:"client_id"`
	Tier      string   `json:"custom:tier"`
	TeamID    string   `json:"custom:teamId"`
}

func date(v float64) *jwt.NumericDate {
	if v == 0 {
		return nil
	}
	sec, frac := math.Modf(v)
	return jwt.NewNumericDate(time.Unix(int64(sec), int64(frac*1e9)))
}

func (c *Claims) GetExpirationTime() (*jwt.NumericDate, error) { return date(c.ExpiresAt), nil }
func (c *Claims) GetIssuedAt() (*jwt.NumericDate, error)       { return date(c.IssuedAt), nil }
func (c *Claims) GetNotBefore() (*jwt.NumericDate, error)      { return date(c.NotBefore), nil }
func (c *Claims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *Claims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *Claims) GetAudience() (jwt.ClaimStrings, error)       { return jwt.ClaimStrings(c.Audience), nil }

// audience is aud: one string (as Cognito writes it) or an array of them.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var cs jwt.ClaimStrings
	if err := cs.UnmarshalJSON(b); err != nil {
		return err
	}
	*a = audience(cs)
	return nil
}

// New starts a verifier. It does not fail when the JWKS cannot be fetched
// yet: tokens are refused until it can.
func New(ctx context.Context, o Options) (*Verifier, error) {
	if o.Issuer == "" || len(o.ClientIDs) == 0 {
		return nil, errors.New("cognito: issuer and at least one client id are required")
	}
	if o.JWKSURL == "" {
		o.JWKSURL = o.Issuer + "/.well-known/jwks.json"
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
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	noErr := true
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{o.JWKSURL}, keyfunc.Override{
		Client:                    o.HTTPClient,
		HTTPTimeout:               jwksTimeout,
		NoErrorReturnFirstHTTPReq: &noErr,
		// Look in the fetched JWKS first: there is no other key source, and
		// the empty "given" store would build an error on every lookup.
		PrioritizeHTTP: true,
		// The wait bounds the refetch itself; a limiter with no token left
		// answers at once rather than waiting for the next minute.
		RateLimitWaitMax:  jwksTimeout,
		RefreshInterval:   o.RefreshInterval,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(o.UnknownKIDRefresh), 1),
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				log.WarnContext(ctx, "JWKS fetch failed", "url", u, "error", err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("cognito: JWKS client: %w", err)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithIssuer(o.Issuer),
		jwt.WithLeeway(Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	}
	if o.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(o.Now))
	}
	return &Verifier{parser: jwt.NewParser(opts...), keyfunc: kf.KeyfuncCtx(ctx), clientIDs: o.ClientIDs}, nil
}

// Verify checks a token and returns who it is for.
func (v *Verifier) Verify(token string) (principal.Principal, error) {
	var c Claims
	if _, err := v.parser.ParseWithClaims(token, &c, v.keyfunc); err != nil {
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
		Sub:    c.Subject,
		Tier:   principal.ParseTier(c.Tier),
		TeamID: c.TeamID,
		Method: principal.ViaJWT,
	}, nil
}
