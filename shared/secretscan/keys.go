package secretscan

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/keygate/keygate/shared/clock"
)

// DefaultKeysURL is where GitHub publishes its secret scanning signing keys.
const DefaultKeysURL = "https://api.github.com/meta/public_keys/secret_scanning"

// Key source defaults.
const (
	// DefaultFetchTimeout bounds one fetch of the key list, including one an
	// unknown identifier triggers during a request: a fifth of a route
	// Lambda's 10 s timeout, so a slow GitHub is a 503, never a Lambda timeout.
	DefaultFetchTimeout = 2 * time.Second
	// DefaultRefetchInterval is the least time between two fetches. GitHub
	// rate-limits unauthenticated API calls per address; a stream of reports
	// naming an unknown identifier costs one fetch a minute per container.
	DefaultRefetchInterval = time.Minute
	// DefaultMaxAge is how long a fetched list is used before the next lookup
	// refreshes it, so a key GitHub withdraws stops verifying within the hour.
	DefaultMaxAge = time.Hour
	// maxKeyListBytes bounds the key list read; GitHub's is about 1 KB.
	maxKeyListBytes = 1 << 20
)

// KeySourceOptions configure a KeySource. Only URL is required.
type KeySourceOptions struct {
	URL             string       // KEYGATE_GITHUB_KEYS_URL; default DefaultKeysURL
	HTTPClient      *http.Client // default: a client with FetchTimeout
	FetchTimeout    time.Duration
	RefetchInterval time.Duration
	MaxAge          time.Duration
	Clock           clock.Clock // default the system clock
	Log             *slog.Logger
}

// KeySource is GitHub's published list of secret scanning keys, fetched over
// HTTP and cached. A lookup of an identifier the cached list lacks fetches the
// list again, but at most once per RefetchInterval: within the interval an
// unknown identifier is refused (ErrUnauthenticated) if the last fetch
// succeeded, and is ErrKeysUnavailable if it failed. A list older than MaxAge
// is refreshed on the next lookup; if that refresh fails, the identifiers it
// held keep verifying until a refresh succeeds. Concurrent lookups share one
// fetch. The fetch is conditional (If-None-Match), which GitHub answers with
// 304 without counting it against the rate limit when the list is unchanged.
type KeySource struct {
	url      string
	client   *http.Client
	timeout  time.Duration
	interval time.Duration
	maxAge   time.Duration
	clock    clock.Clock
	log      *slog.Logger

	mu          sync.Mutex
	keys        map[string]*ecdsa.PublicKey
	etag        string
	fetchedAt   time.Time     // last successful fetch (200 or 304)
	attemptedAt time.Time     // last fetch started
	lastErr     error         // outcome of the last fetch
	inflight    chan struct{} // closed when the running fetch ends
}

// NewKeySource returns a key source; it fetches nothing until the first
// lookup.
func NewKeySource(o KeySourceOptions) *KeySource {
	if o.URL == "" {
		o.URL = DefaultKeysURL
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = DefaultFetchTimeout
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: o.FetchTimeout}
	}
	if o.RefetchInterval <= 0 {
		o.RefetchInterval = DefaultRefetchInterval
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &KeySource{
		url: o.URL, client: o.HTTPClient, timeout: o.FetchTimeout, interval: o.RefetchInterval,
		maxAge: o.MaxAge, clock: o.Clock, log: o.Log,
	}
}

// Key returns the public key GitHub publishes under keyID.
func (s *KeySource) Key(ctx context.Context, keyID string) (*ecdsa.PublicKey, error) {
	for {
		s.mu.Lock()
		now := s.clock.Now()
		k, known := s.keys[keyID]
		if known && now.Sub(s.fetchedAt) < s.maxAge {
			s.mu.Unlock()
			return k, nil
		}
		if ch := s.inflight; ch != nil {
			s.mu.Unlock()
			select {
			case <-ch:
				continue // look again at what that fetch brought
			case <-ctx.Done():
				return nil, unavailable(ctx.Err())
			}
		}
		if !s.attemptedAt.IsZero() && now.Sub(s.attemptedAt) < s.interval {
			err := s.lastErr
			s.mu.Unlock()
			switch {
			case known:
				return k, nil // stale, but the refresh is rate limited
			case err != nil:
				return nil, unavailable(err)
			default:
				return nil, unknownKey(keyID)
			}
		}
		ch := make(chan struct{})
		s.inflight, s.attemptedAt = ch, now
		etag := s.etag
		s.mu.Unlock()

		keys, newTag, err := s.fetch(ctx, etag)

		s.mu.Lock()
		s.inflight = nil
		close(ch)
		s.lastErr = err
		if err == nil {
			s.fetchedAt = now
			if keys != nil { // nil: 304, the cached list stands
				s.keys, s.etag = keys, newTag
			}
		}
		k, found := s.keys[keyID]
		s.mu.Unlock()
		switch {
		case err != nil && known:
			s.log.WarnContext(ctx, "GitHub secret scanning keys: refresh failed; using the cached list", "url", s.url, "error", err)
			return k, nil
		case err != nil:
			s.log.WarnContext(ctx, "GitHub secret scanning keys: fetch failed", "url", s.url, "error", err)
			return nil, unavailable(err)
		case !found:
			return nil, unknownKey(keyID)
		}
		return k, nil
	}
}

func unknownKey(keyID string) *Error {
	return unauthenticated(nil, "Key identifier %s is not among GitHub's published secret scanning keys.", quote(keyID))
}

// keyList is the document at DefaultKeysURL.
type keyList struct {
	PublicKeys []struct {
		KeyIdentifier string `json:"key_identifier"`
		Key           string `json:"key"` // PEM, "PUBLIC KEY"
		IsCurrent     bool   `json:"is_current"`
	} `json:"public_keys"`
}

// fetch GETs the key list. keys is nil (and err nil) when the server answers
// 304 Not Modified to etag.
func (s *KeySource) fetch(ctx context.Context, etag string) (keys map[string]*ecdsa.PublicKey, newTag string, err error) {
	// Not cut short by the request that happens to trigger it: its outcome
	// is cached for every request of the next interval. The timeout bounds it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, "", fmt.Errorf("key list request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "keygate-secretscan")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("fetch key list: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && etag != "":
		return nil, etag, nil
	case resp.StatusCode != http.StatusOK:
		return nil, "", fmt.Errorf("fetch key list: HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyListBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("read key list: %w", err)
	}
	if len(body) > maxKeyListBytes {
		return nil, "", fmt.Errorf("key list is over %d bytes", maxKeyListBytes)
	}
	keys, err = ParseKeyList(body, s.log)
	if err != nil {
		return nil, "", err
	}
	return keys, resp.Header.Get("ETag"), nil
}

// ParseKeyList reads GitHub's key list document,
// {"public_keys": [{"key_identifier", "key", "is_current"}]}, into P-256 keys
// by identifier. An entry whose key is not a PEM P-256 public key is left out
// (and logged); an identifier listed twice is left out altogether, since
// either key could be the one meant. A list with no usable key is an error.
func ParseKeyList(body []byte, log *slog.Logger) (map[string]*ecdsa.PublicKey, error) {
	if log == nil {
		log = slog.Default()
	}
	var l keyList
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, fmt.Errorf("decode key list: %w", err)
	}
	keys := make(map[string]*ecdsa.PublicKey, len(l.PublicKeys))
	dup := map[string]bool{}
	for _, e := range l.PublicKeys {
		if e.KeyIdentifier == "" {
			log.Warn("GitHub secret scanning keys: entry without key_identifier left out")
			continue
		}
		if _, ok := keys[e.KeyIdentifier]; ok || dup[e.KeyIdentifier] {
			dup[e.KeyIdentifier] = true
			delete(keys, e.KeyIdentifier)
			log.Warn("GitHub secret scanning keys: identifier listed twice, left out", "keyIdentifier", e.KeyIdentifier)
			continue
		}
		pub, err := parseP256(e.Key)
		if err != nil {
			log.Warn("GitHub secret scanning keys: entry left out", "keyIdentifier", e.KeyIdentifier, "error", err)
			continue
		}
		keys[e.KeyIdentifier] = pub
	}
	if len(keys) == 0 {
		return nil, errors.New("key list has no usable P-256 key")
	}
	return keys, nil
}

func parseP256(s string) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("key is not a PEM PUBLIC KEY block")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("key is %T, not an ECDSA P-256 key", k)
	}
	return pub, nil
}
