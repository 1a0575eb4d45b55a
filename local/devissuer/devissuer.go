// Package devissuer is a development stand-in for a Cognito user pool: it
// holds an RSA-2048 key, serves its JWKS over HTTP at
// /.well-known/jwks.json, and mints RS256 tokens shaped like Cognito's (access
// tokens with client_id, ID tokens with aud, custom:tier and custom:teamId).
// Local mode and the tests use it; it is never deployed.
//
// In local mode it also hands out tokens of the console's demo users
// (/token?user=<email>): those come from the pool the console signs in at,
// not from this issuer, because identities are per issuer and the demo users
// live in that pool.
package devissuer

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/keygate/keygate/shared/principal"
)

// Issuer mints tokens. URL must be set to where Handler is served before
// tokens are minted: it is their iss, and JWKS lives under it.
type Issuer struct {
	URL      string
	ClientID string
	Key      *rsa.PrivateKey
	KID      string
	Now      func() time.Time

	// down makes the JWKS endpoint answer 503 (tests of an unreachable pool).
	down atomic.Bool
	// users answers /token?user=; nil until SetUserTokens.
	users atomic.Pointer[UserTokens]
}

// UserTokens returns a token of the user with that email, signed by the
// issuer where that user lives; use is "id" or "access". An unknown user is
// an error wrapping ErrUnknownUser whose message says who is known.
type UserTokens func(ctx context.Context, email, use string) (string, error)

// ErrUnknownUser: no such user where UserTokens looks.
var ErrUnknownUser = errors.New("unknown user")

// SetUserTokens makes /token?user=<email> answer f's tokens (local mode: a
// sign-in at cognito-local). Safe to call while the handler serves.
func (i *Issuer) SetUserTokens(f UserTokens) { i.users.Store(&f) }

// JWKSDown makes the JWKS endpoint fail (true) or answer again (false).
func (i *Issuer) JWKSDown(down bool) { i.down.Store(down) }

// Rotate gives the issuer a new signing key and kid, as a pool's key
// rotation does; tokens signed before carry the old kid.
func (i *Issuer) Rotate() error {
	n, err := New(i.ClientID)
	if err != nil {
		return err
	}
	i.Key, i.KID = n.Key, n.KID
	return nil
}

// New makes an issuer with a fresh RSA-2048 key.
func New(clientID string) (*Issuer, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	var kid [8]byte
	_, _ = rand.Read(kid[:])
	return &Issuer{ClientID: clientID, Key: k, KID: fmt.Sprintf("dev-%x", kid), Now: time.Now}, nil
}

// Token describes a token to mint.
type Token struct {
	Sub    string
	Tier   string // custom:tier; empty leaves the claim out (= free)
	TeamID string
	Use    string        // "access" (default) or "id"
	TTL    time.Duration // default one hour, as Cognito
}

// Claims returns the Cognito-shaped claims of t.
func (i *Issuer) Claims(t Token) jwt.MapClaims {
	now := i.Now()
	ttl := t.TTL
	if ttl == 0 {
		ttl = time.Hour
	}
	use := t.Use
	if use == "" {
		use = "access"
	}
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	c := jwt.MapClaims{
		"sub":       t.Sub,
		"iss":       i.URL,
		"token_use": use,
		"auth_time": now.Unix(),
		"iat":       now.Unix(),
		"exp":       now.Add(ttl).Unix(),
		"jti":       fmt.Sprintf("%x", jti),
	}
	if use == "id" {
		c["aud"] = i.ClientID
		c["cognito:username"] = t.Sub
	} else {
		c["client_id"] = i.ClientID
		c["scope"] = "aws.cognito.signin.user.admin"
		c["username"] = t.Sub
	}
	if t.Tier != "" {
		c["custom:tier"] = t.Tier
	}
	if t.TeamID != "" {
		c["custom:teamId"] = t.TeamID
	}
	return c
}

// Mint signs t with RS256.
func (i *Issuer) Mint(t Token) (string, error) { return i.Sign(i.Claims(t)) }

// Sign signs arbitrary claims with the issuer's key and kid.
func (i *Issuer) Sign(c jwt.Claims) (string, error) {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = i.KID
	return tok.SignedString(i.Key)
}

// JWKS is the public key set as JSON.
func (i *Issuer) JWKS() []byte {
	pub := i.Key.PublicKey
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": i.KID,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
	return b
}

// Handler serves GET /.well-known/jwks.json and, for local mode,
// GET /token?sub=&tier=&teamId=&use=access|id&ttl=<seconds> which answers a
// fresh token of this issuer as text. sub is required; tier, when given, must
// be one of free, pro, team, enterprise (a typo would otherwise mint a free
// user without a word). GET /token?user=<email>[&use=id|access] answers a
// token of that demo user from UserTokens instead (an ID token by default).
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		if i.down.Load() {
			http.Error(w, "JWKS unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(i.JWKS())
	})
	mux.HandleFunc("GET /token", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Has("user") {
			i.userToken(w, r)
			return
		}
		t := Token{Sub: q.Get("sub"), Tier: q.Get("tier"), TeamID: q.Get("teamId"), Use: q.Get("use")}
		for name := range q {
			switch name {
			case "sub", "tier", "teamId", "use", "ttl":
			default:
				http.Error(w, fmt.Sprintf("unknown parameter %q: use user (a demo user's email), or sub, tier, teamId, use, ttl", name), http.StatusBadRequest)
				return
			}
		}
		if t.Sub == "" {
			http.Error(w, "user or sub is required, e.g. /token?user=pro@example.com (a demo user) or /token?sub=alice&tier=pro (this issuer's own)", http.StatusBadRequest)
			return
		}
		if tier := principal.Tier(t.Tier); tier != "" && tier != principal.Free && !tier.Paid() {
			http.Error(w, fmt.Sprintf("tier %q is not free, pro, team or enterprise", t.Tier), http.StatusBadRequest)
			return
		}
		if t.Use != "" && t.Use != "access" && t.Use != "id" {
			http.Error(w, "use must be access or id", http.StatusBadRequest)
			return
		}
		if s := q.Get("ttl"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				http.Error(w, "ttl must be a positive number of seconds", http.StatusBadRequest)
				return
			}
			t.TTL = time.Duration(n) * time.Second
		}
		tok, err := i.Mint(t)
		if err != nil {
			http.Error(w, "mint failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(tok + "\n"))
	})
	return mux
}

// userToken answers /token?user=<email>[&use=id|access].
func (i *Issuer) userToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for name := range q {
		if name != "user" && name != "use" {
			http.Error(w, fmt.Sprintf("parameter %q does not go with user: a demo user's token says who they are (use takes id or access)", name), http.StatusBadRequest)
			return
		}
	}
	use := q.Get("use")
	if use == "" {
		use = "id"
	}
	if use != "access" && use != "id" {
		http.Error(w, "use must be access or id", http.StatusBadRequest)
		return
	}
	f := i.users.Load()
	if f == nil {
		http.Error(w, "no demo users here: this stack has no user pool of its own; use /token?sub=...", http.StatusNotFound)
		return
	}
	tok, err := (*f)(r.Context(), q.Get("user"), use)
	switch {
	case errors.Is(err, ErrUnknownUser):
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, "sign-in failed: "+err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(tok + "\n"))
}
