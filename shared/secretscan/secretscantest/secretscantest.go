// Package secretscantest is GitHub's side of the secret scanning partner
// program, for tests: an HTTP server publishing ECDSA P-256 keys in GitHub's
// key-list format, and signers that sign report bodies the way GitHub does
// (base64 of an ASN.1 DER ECDSA signature over SHA-256 of the raw body).
package secretscantest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/shared/secretscan"
)

// GitHub serves a key list at URL and counts the requests for it.
type GitHub struct {
	URL string
	// Hits counts key-list requests, 304s included.
	Hits atomic.Int64

	down  atomic.Bool
	delay atomic.Int64 // nanoseconds to wait before answering

	mu      sync.Mutex
	entries []entry
	version int
}

type entry struct {
	ID        string `json:"key_identifier"`
	Key       string `json:"key"`
	IsCurrent bool   `json:"is_current"`
}

// New starts the server; it stops when the test ends.
func New(t testing.TB) *GitHub {
	g := &GitHub{}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(srv.Close)
	g.URL = srv.URL + "/meta/public_keys/secret_scanning"
	return g
}

func (g *GitHub) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/meta/public_keys/secret_scanning" {
		http.NotFound(w, r)
		return
	}
	g.Hits.Add(1)
	if d := time.Duration(g.delay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	if g.down.Load() {
		http.Error(w, `{"message":"unavailable"}`, http.StatusServiceUnavailable)
		return
	}
	g.mu.Lock()
	body, _ := json.Marshal(map[string]any{"public_keys": append([]entry{}, g.entries...)})
	etag := fmt.Sprintf(`"v%d"`, g.version)
	g.mu.Unlock()
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// SetDown makes the key list answer 503 (true) or serve again (false).
func (g *GitHub) SetDown(down bool) { g.down.Store(down) }

// SetDelay makes every key-list answer wait d first.
func (g *GitHub) SetDelay(d time.Duration) { g.delay.Store(int64(d)) }

// Signer signs reports with one published key.
type Signer struct {
	ID  string
	Key *ecdsa.PrivateKey
}

// NewSigner makes a P-256 key under id without publishing it.
func NewSigner(t testing.TB, id string) *Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &Signer{ID: id, Key: k}
}

// AddKey makes a P-256 key, publishes it under id as the current key, and
// returns its signer.
func (g *GitHub) AddKey(t testing.TB, id string) *Signer {
	t.Helper()
	s := NewSigner(t, id)
	g.Publish(t, s.ID, &s.Key.PublicKey)
	return s
}

// Publish lists pub under id as the current key (earlier keys stay listed,
// no longer current).
func (g *GitHub) Publish(t testing.TB, id string, pub any) {
	t.Helper()
	g.PublishRaw(id, PEM(t, pub))
}

// PEM is pub as a PEM "PUBLIC KEY" block, the form of GitHub's list.
func PEM(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// PublishRaw lists key (any text) under id as the current key.
func (g *GitHub) PublishRaw(id, key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := range g.entries {
		g.entries[i].IsCurrent = false
	}
	g.entries = append(g.entries, entry{ID: id, Key: key, IsCurrent: true})
	g.version++
}

// Withdraw removes every key listed under id.
func (g *GitHub) Withdraw(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	kept := g.entries[:0]
	for _, e := range g.entries {
		if e.ID != id {
			kept = append(kept, e)
		}
	}
	g.entries = kept
	g.version++
}

// Sign is the Github-Public-Key-Signature value for body.
func (s *Signer) Sign(body []byte) string {
	digest := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, s.Key, digest[:])
	if err != nil {
		panic(err) // crypto/rand failing is not a test outcome
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// Match is one item of a report as GitHub sends it.
type Match = secretscan.Match

// Report renders matches as GitHub's report body.
func Report(ms ...Match) []byte {
	if ms == nil {
		ms = []Match{}
	}
	b, err := json.Marshal(ms)
	if err != nil {
		panic(err)
	}
	return b
}
