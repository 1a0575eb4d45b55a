package secretscan_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/secretscan"
	"github.com/keygate/keygate/shared/secretscan/secretscantest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func newSource(gh *secretscantest.GitHub, clk clock.Clock) *secretscan.KeySource {
	return secretscan.NewKeySource(secretscan.KeySourceOptions{URL: gh.URL, Clock: clk, Log: quiet})
}

func TestKeySource(t *testing.T) {
	ctx := context.Background()

	t.Run("a known identifier is served from the cache", func(t *testing.T) {
		gh := secretscantest.New(t)
		s := gh.AddKey(t, "k1")
		src := newSource(gh, clock.NewFixed(t0))
		for range 5 {
			k, err := src.Key(ctx, "k1")
			if err != nil {
				t.Fatal(err)
			}
			if !k.Equal(&s.Key.PublicKey) {
				t.Fatal("wrong key")
			}
		}
		if n := gh.Hits.Load(); n != 1 {
			t.Fatalf("%d fetches for 5 lookups, want 1", n)
		}
	})

	t.Run("an unknown identifier refetches at most once per interval", func(t *testing.T) {
		gh := secretscantest.New(t)
		gh.AddKey(t, "k1")
		clk := clock.NewFixed(t0)
		src := newSource(gh, clk)
		if _, err := src.Key(ctx, "k1"); err != nil {
			t.Fatal(err)
		}
		clk.Advance(secretscan.DefaultRefetchInterval) // the first fetch's interval is over
		gh.AddKey(t, "k2")                             // GitHub rotates
		if _, err := src.Key(ctx, "k2"); err != nil {
			t.Fatalf("rotated key: %v", err)
		}
		if n := gh.Hits.Load(); n != 2 {
			t.Fatalf("%d fetches, want 2", n)
		}
		// Garbage identifiers within the interval: refused, no fetch.
		for _, id := range []string{"nope", "nope2", "nope3"} {
			_, err := src.Key(ctx, id)
			if !errors.Is(err, secretscan.ErrUnauthenticated) {
				t.Fatalf("unknown %s: %v, want ErrUnauthenticated", id, err)
			}
		}
		if n := gh.Hits.Load(); n != 2 {
			t.Fatalf("%d fetches after unknown ids within the interval, want 2", n)
		}
		// A key published within the interval is refused until it is over:
		// the list is stale and the id unknown.
		gh.AddKey(t, "k3")
		clk.Advance(secretscan.DefaultRefetchInterval - time.Second)
		if _, err := src.Key(ctx, "k3"); !errors.Is(err, secretscan.ErrUnauthenticated) {
			t.Fatalf("k3 within the interval: %v, want ErrUnauthenticated", err)
		}
		clk.Advance(time.Second)
		if _, err := src.Key(ctx, "k3"); err != nil {
			t.Fatalf("k3 after the interval: %v", err)
		}
		if n := gh.Hits.Load(); n != 3 {
			t.Fatalf("%d fetches, want 3", n)
		}
	})

	t.Run("a key list that cannot be fetched is ErrKeysUnavailable for an unseen identifier", func(t *testing.T) {
		gh := secretscantest.New(t)
		gh.AddKey(t, "k1")
		gh.SetDown(true)
		clk := clock.NewFixed(t0)
		src := newSource(gh, clk)
		if _, err := src.Key(ctx, "k1"); !errors.Is(err, secretscan.ErrKeysUnavailable) {
			t.Fatalf("%v, want ErrKeysUnavailable", err)
		}
		// Within the interval: still unavailable, without hammering GitHub.
		if _, err := src.Key(ctx, "k1"); !errors.Is(err, secretscan.ErrKeysUnavailable) {
			t.Fatalf("%v, want ErrKeysUnavailable", err)
		}
		if n := gh.Hits.Load(); n != 1 {
			t.Fatalf("%d fetches, want 1", n)
		}
		gh.SetDown(false)
		clk.Advance(secretscan.DefaultRefetchInterval)
		if _, err := src.Key(ctx, "k1"); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
	})

	t.Run("a failed refresh of an old list keeps its keys verifying", func(t *testing.T) {
		gh := secretscantest.New(t)
		gh.AddKey(t, "k1")
		clk := clock.NewFixed(t0)
		src := newSource(gh, clk)
		if _, err := src.Key(ctx, "k1"); err != nil {
			t.Fatal(err)
		}
		gh.SetDown(true)
		clk.Advance(secretscan.DefaultMaxAge)
		if _, err := src.Key(ctx, "k1"); err != nil {
			t.Fatalf("known key while GitHub is down: %v", err)
		}
		if _, err := src.Key(ctx, "k1"); err != nil {
			t.Fatalf("known key while GitHub is down, again: %v", err)
		}
		if n := gh.Hits.Load(); n != 2 {
			t.Fatalf("%d fetches, want 2 (one refresh per interval)", n)
		}
	})

	t.Run("a key GitHub withdraws stops verifying at the next refresh", func(t *testing.T) {
		gh := secretscantest.New(t)
		gh.AddKey(t, "k1")
		gh.AddKey(t, "k2")
		clk := clock.NewFixed(t0)
		src := newSource(gh, clk)
		if _, err := src.Key(ctx, "k1"); err != nil {
			t.Fatal(err)
		}
		gh.Withdraw("k1")
		clk.Advance(secretscan.DefaultMaxAge)
		if _, err := src.Key(ctx, "k1"); !errors.Is(err, secretscan.ErrUnauthenticated) {
			t.Fatalf("withdrawn key: %v, want ErrUnauthenticated", err)
		}
		if _, err := src.Key(ctx, "k2"); err != nil {
			t.Fatalf("k2: %v", err)
		}
	})

	t.Run("an unchanged list is revalidated with If-None-Match", func(t *testing.T) {
		gh := secretscantest.New(t)
		s := gh.AddKey(t, "k1")
		clk := clock.NewFixed(t0)
		src := newSource(gh, clk)
		if _, err := src.Key(ctx, "k1"); err != nil {
			t.Fatal(err)
		}
		clk.Advance(secretscan.DefaultMaxAge)
		k, err := src.Key(ctx, "k1") // answered 304
		if err != nil || !k.Equal(&s.Key.PublicKey) {
			t.Fatalf("after 304: %v", err)
		}
		clk.Advance(time.Minute) // fresh again: no fetch
		if _, err := src.Key(ctx, "k1"); err != nil {
			t.Fatal(err)
		}
		if n := gh.Hits.Load(); n != 2 {
			t.Fatalf("%d fetches, want 2", n)
		}
	})

	t.Run("a slow key list is cut at the fetch timeout", func(t *testing.T) {
		gh := secretscantest.New(t)
		gh.AddKey(t, "k1")
		gh.SetDelay(5 * time.Second)
		src := secretscan.NewKeySource(secretscan.KeySourceOptions{
			URL: gh.URL, FetchTimeout: 100 * time.Millisecond, Clock: clock.NewFixed(t0), Log: quiet,
		})
		start := time.Now()
		_, err := src.Key(ctx, "k1")
		if !errors.Is(err, secretscan.ErrKeysUnavailable) {
			t.Fatalf("%v, want ErrKeysUnavailable", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("took %v", d)
		}
	})

	t.Run("a request that gives up does not spoil the fetch for the next interval", func(t *testing.T) {
		gh := secretscantest.New(t)
		gh.AddKey(t, "k1")
		src := newSource(gh, clock.NewFixed(t0))
		gone, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := src.Key(gone, "k1"); err != nil {
			t.Fatalf("fetch under a cancelled request: %v", err)
		}
		if _, err := src.Key(ctx, "k1"); err != nil {
			t.Fatalf("next request: %v", err)
		}
		if n := gh.Hits.Load(); n != 1 {
			t.Fatalf("%d fetches, want 1", n)
		}
	})

	t.Run("concurrent lookups share one fetch", func(t *testing.T) {
		gh := secretscantest.New(t)
		gh.AddKey(t, "k1")
		gh.SetDelay(50 * time.Millisecond)
		src := newSource(gh, clock.NewFixed(t0))
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Go(func() {
				_, err := src.Key(ctx, "k1")
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := gh.Hits.Load(); n != 1 {
			t.Fatalf("%d fetches, want 1", n)
		}
	})
}

func TestParseKeyList(t *testing.T) {
	good := secretscantest.NewSigner(t, "good")
	goodPEM := secretscantest.PEM(t, &good.Key.PublicKey)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384PEM := secretscantest.PEM(t, &p384.PublicKey)
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPEM := secretscantest.PEM(t, edPub)

	tests := []struct {
		name    string
		body    string
		want    []string
		wantErr bool
	}{
		{"one key", `{"public_keys":[{"key_identifier":"good","key":` + q(goodPEM) + `,"is_current":true}]}`, []string{"good"}, false},
		{"unknown fields are ignored", `{"public_keys":[{"key_identifier":"good","key":` + q(goodPEM) + `,"is_current":true,"new":1}],"other":2}`, []string{"good"}, false},
		{"a bad entry is left out", `{"public_keys":[{"key_identifier":"bad","key":"nope"},{"key_identifier":"good","key":` + q(goodPEM) + `}]}`, []string{"good"}, false},
		{"a P-384 key is left out", `{"public_keys":[{"key_identifier":"p384","key":` + q(p384PEM) + `},{"key_identifier":"good","key":` + q(goodPEM) + `}]}`, []string{"good"}, false},
		{"an Ed25519 key is left out", `{"public_keys":[{"key_identifier":"ed","key":` + q(edPEM) + `},{"key_identifier":"good","key":` + q(goodPEM) + `}]}`, []string{"good"}, false},
		{"an identifier listed twice is left out", `{"public_keys":[{"key_identifier":"good","key":` + q(goodPEM) + `},{"key_identifier":"good","key":` + q(goodPEM) + `},{"key_identifier":"x","key":` + q(goodPEM) + `}]}`, []string{"x"}, false},
		{"no usable key", `{"public_keys":[{"key_identifier":"bad","key":"nope"}]}`, nil, true},
		{"empty list", `{"public_keys":[]}`, nil, true},
		{"not JSON", `<html>`, nil, true},
		{"no identifier", `{"public_keys":[{"key":` + q(goodPEM) + `}]}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := secretscan.ParseKeyList([]byte(tt.body), quiet)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if len(keys) != len(tt.want) {
				t.Fatalf("%d keys, want %v", len(keys), tt.want)
			}
			for _, id := range tt.want {
				if keys[id] == nil {
					t.Fatalf("key %s missing", id)
				}
			}
		})
	}
}

// q is s as a JSON string.
func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
