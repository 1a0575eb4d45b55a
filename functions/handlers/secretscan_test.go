package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/functions/handlers"
	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/lambdahttp"
	"github.com/keygate/keygate/shared/secretscan"
	"github.com/keygate/keygate/shared/secretscan/secretscantest"
)

// leakLedger stands in for the key service until its ReportLeak lands: a set
// of live keys; a reported live key is revoked with the URL, once.
type leakLedger struct {
	mu      sync.Mutex
	live    map[string]bool
	revoked map[string]string // token -> url recorded
	fail    error
	overlap bool // hold each call a moment, so calls overlap

	inFlight, maxInFlight atomic.Int32
	calls                 atomic.Int32
}

func newLedger(live ...string) *leakLedger {
	l := &leakLedger{live: map[string]bool{}, revoked: map[string]string{}}
	for _, k := range live {
		l.live[k] = true
	}
	return l
}

func (l *leakLedger) ReportLeak(ctx context.Context, tok, url string) (bool, error) {
	l.calls.Add(1)
	n := l.inFlight.Add(1)
	defer l.inFlight.Add(-1)
	for {
		m := l.maxInFlight.Load()
		if n <= m || l.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if l.overlap {
		time.Sleep(time.Millisecond)
	}
	if l.fail != nil {
		return false, l.fail
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.live[tok] {
		return false, nil
	}
	l.live[tok] = false
	l.revoked[tok] = url
	return true, nil
}

const (
	liveKey  = "csk_live_0123456789abcdef0123456789abcdef"
	otherKey = "csk_live_fedcba9876543210fedcba9876543210"
	keyType  = "keygate_api_key"
	blobURL  = "https://github.com/octo/repo/blob/0123abc/config.env"
)

type scanFixture struct {
	gh     *secretscantest.GitHub
	signer *secretscantest.Signer
	clk    *clock.Fixed
	ledger *leakLedger
	logs   *bytes.Buffer
	h      lambdahttp.Handler
}

func newScanFixture(t *testing.T, live ...string) *scanFixture {
	t.Helper()
	f := &scanFixture{gh: secretscantest.New(t), clk: clock.NewFixed(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)), ledger: newLedger(live...), logs: &bytes.Buffer{}}
	f.signer = f.gh.AddKey(t, "gh-key-1")
	log := slog.New(slog.NewJSONHandler(f.logs, nil))
	src := secretscan.NewKeySource(secretscan.KeySourceOptions{URL: f.gh.URL, Clock: f.clk, Log: log})
	f.h = handlers.SecretScan(&secretscan.Verifier{Keys: src}, f.ledger, log)
	return f
}

// signed is a request GitHub would send: body signed by s, headers named as
// GitHub names them.
func signed(s *secretscantest.Signer, body []byte) *lambdahttp.Request {
	return &lambdahttp.Request{
		Body:      body,
		RequestID: "req-1",
		Headers: map[string]string{
			"Content-Type":             "application/json",
			secretscan.HeaderKeyID:     s.ID,
			secretscan.HeaderSignature: s.Sign(body),
		},
	}
}

func (f *scanFixture) call(t *testing.T, r *lambdahttp.Request) (int, []secretscan.Feedback, error) {
	t.Helper()
	resp, err := f.h(context.Background(), r)
	if err != nil {
		e := apierr.From(err)
		return apierr.Status(e.Code), nil, err
	}
	if !resp.Bare {
		t.Fatal("the feedback must be bare JSON, without the success envelope")
	}
	b, err := json.Marshal(resp.Data)
	if err != nil {
		t.Fatal(err)
	}
	var fb []secretscan.Feedback
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fb); err != nil {
		t.Fatalf("feedback %s: %v", b, err)
	}
	if fb == nil {
		t.Fatalf("feedback %s is not an array", b)
	}
	return resp.Status, fb, nil
}

func match(tok, url string) secretscantest.Match {
	return secretscantest.Match{Token: tok, Type: keyType, URL: url, Source: "content"}
}

func TestSecretScan(t *testing.T) {
	t.Run("a signed report of a live key revokes it and answers true_positive", func(t *testing.T) {
		f := newScanFixture(t, liveKey)
		status, fb, err := f.call(t, signed(f.signer, secretscantest.Report(match(liveKey, blobURL))))
		if err != nil || status != 200 {
			t.Fatalf("status %d, err %v", status, err)
		}
		want := []secretscan.Feedback{{TokenRaw: liveKey, TokenType: keyType, Label: secretscan.TruePositive}}
		if fmt.Sprint(fb) != fmt.Sprint(want) {
			t.Fatalf("feedback %+v, want %+v", fb, want)
		}
		if f.ledger.live[liveKey] || f.ledger.revoked[liveKey] != blobURL {
			t.Fatalf("key not revoked with the URL: %+v", f.ledger.revoked)
		}
	})

	t.Run("each distinct string gets one label; unknown strings are false positives", func(t *testing.T) {
		f := newScanFixture(t, liveKey)
		body := secretscantest.Report(
			match("csk_live_00000000000000000000000000000000", blobURL), // well-formed, unknown
			match(liveKey, ""),
			match(liveKey, blobURL), // the same key found again, with a URL
			match("not-a-key", blobURL),
		)
		_, fb, err := f.call(t, signed(f.signer, body))
		if err != nil {
			t.Fatal(err)
		}
		labels := map[string]secretscan.Label{}
		for _, x := range fb {
			labels[x.TokenRaw] = x.Label
		}
		if len(fb) != 3 || labels[liveKey] != secretscan.TruePositive ||
			labels["csk_live_00000000000000000000000000000000"] != secretscan.FalsePositive || labels["not-a-key"] != secretscan.FalsePositive {
			t.Fatalf("feedback %+v", fb)
		}
		if n := f.ledger.calls.Load(); n != 3 {
			t.Fatalf("%d ReportLeak calls, want 3", n)
		}
		if f.ledger.revoked[liveKey] != blobURL {
			t.Fatalf("recorded URL %q, want the first non-empty one", f.ledger.revoked[liveKey])
		}
	})

	t.Run("the same report twice changes nothing the second time", func(t *testing.T) {
		f := newScanFixture(t, liveKey)
		body := secretscantest.Report(match(liveKey, blobURL))
		if _, _, err := f.call(t, signed(f.signer, body)); err != nil {
			t.Fatal(err)
		}
		_, fb, err := f.call(t, signed(f.signer, body))
		if err != nil || len(fb) != 1 || fb[0].Label != secretscan.FalsePositive {
			t.Fatalf("second report: %+v, %v", fb, err)
		}
	})

	t.Run("header names in lowercase (HTTP/2) are the same headers", func(t *testing.T) {
		f := newScanFixture(t, liveKey)
		r := signed(f.signer, secretscantest.Report(match(liveKey, blobURL)))
		r.Headers = map[string]string{
			"github-public-key-identifier": r.Headers[secretscan.HeaderKeyID],
			"github-public-key-signature":  r.Headers[secretscan.HeaderSignature],
		}
		if status, _, err := f.call(t, r); status != 200 {
			t.Fatalf("status %d: %v", status, err)
		}
	})

	t.Run("a URL that is not an https URL is recorded as none", func(t *testing.T) {
		f := newScanFixture(t, liveKey)
		if _, _, err := f.call(t, signed(f.signer, secretscantest.Report(match(liveKey, "javascript:alert(1)")))); err != nil {
			t.Fatal(err)
		}
		if u, ok := f.ledger.revoked[liveKey]; !ok || u != "" {
			t.Fatalf("recorded %q, %v", u, ok)
		}
	})

	t.Run("calls to the key service are bounded in flight", func(t *testing.T) {
		f := newScanFixture(t)
		f.ledger.overlap = true
		var ms []secretscantest.Match
		for i := range 100 {
			ms = append(ms, match(fmt.Sprintf("csk_live_%032x", i), blobURL))
		}
		_, fb, err := f.call(t, signed(f.signer, secretscantest.Report(ms...)))
		if err != nil || len(fb) != 100 {
			t.Fatalf("%d labels, %v", len(fb), err)
		}
		for i, x := range fb { // order kept
			if x.TokenRaw != ms[i].Token {
				t.Fatalf("label %d is for %s", i, x.TokenRaw)
			}
		}
		if m := f.ledger.maxInFlight.Load(); m > 8 || m < 2 {
			t.Fatalf("%d calls in flight at most, want 2..8", m)
		}
	})

	t.Run("a key service failure fails the report with its status, so GitHub retries", func(t *testing.T) {
		f := newScanFixture(t, liveKey)
		f.ledger.fail = apierr.Unavailable(errors.New("store down"))
		status, _, err := f.call(t, signed(f.signer, secretscantest.Report(match(liveKey, blobURL), match(otherKey, blobURL))))
		if status != 503 {
			t.Fatalf("status %d, err %v", status, err)
		}
	})

	t.Run("logs never show a reported token", func(t *testing.T) {
		f := newScanFixture(t, liveKey)
		if _, _, err := f.call(t, signed(f.signer, secretscantest.Report(match(liveKey, blobURL)))); err != nil {
			t.Fatal(err)
		}
		if f.logs.Len() == 0 || strings.Contains(f.logs.String(), "csk_live_") {
			t.Fatalf("logs: %s", f.logs)
		}
	})
}

func TestSecretScanRefusals(t *testing.T) {
	good := secretscantest.Report(match(liveKey, blobURL))
	tests := []struct {
		name   string
		req    func(f *scanFixture, t *testing.T) *lambdahttp.Request
		status int
	}{
		{"no signature headers", func(f *scanFixture, t *testing.T) *lambdahttp.Request {
			return &lambdahttp.Request{Body: good}
		}, 401},
		{"signature header missing", func(f *scanFixture, t *testing.T) *lambdahttp.Request {
			r := signed(f.signer, good)
			delete(r.Headers, secretscan.HeaderSignature)
			return r
		}, 401},
		{"signature by a key GitHub does not publish", func(f *scanFixture, t *testing.T) *lambdahttp.Request {
			return signed(secretscantest.NewSigner(t, f.signer.ID), good)
		}, 401},
		{"signature of another body", func(f *scanFixture, t *testing.T) *lambdahttp.Request {
			r := signed(f.signer, good)
			r.Body = secretscantest.Report(match(otherKey, blobURL))
			return r
		}, 401},
		{"wrong key identifier", func(f *scanFixture, t *testing.T) *lambdahttp.Request {
			r := signed(f.signer, good)
			r.Headers[secretscan.HeaderKeyID] = "gh-key-unknown"
			return r
		}, 401},
		{"signature not base64", func(f *scanFixture, t *testing.T) *lambdahttp.Request {
			r := signed(f.signer, good)
			r.Headers[secretscan.HeaderSignature] = "!!!"
			return r
		}, 401},
		{"signature not DER", func(f *scanFixture, t *testing.T) *lambdahttp.Request {
			r := signed(f.signer, good)
			r.Headers[secretscan.HeaderSignature] = "bm90IGEgc2lnbmF0dXJl"
			return r
		}, 401},
		{"oversized body", func(f *scanFixture, t *testing.T) *lambdahttp.Request {
			return signed(f.signer, append(append([]byte{}, good...), bytes.Repeat([]byte(" "), secretscan.MaxReportBytes)...))
		}, 400},
		{"malformed JSON", func(f *scanFixture, t *testing.T) *lambdahttp.Request {
			return signed(f.signer, []byte(`[{"token":`))
		}, 400},
		{"duplicated member", func(f *scanFixture, t *testing.T) *lambdahttp.Request {
			return signed(f.signer, []byte(`[{"token":"`+liveKey+`","token":"x","type":"t","url":"","source":"content"}]`))
		}, 400},
		{"missing type", func(f *scanFixture, t *testing.T) *lambdahttp.Request {
			return signed(f.signer, []byte(`[{"token":"`+liveKey+`","url":"","source":"content"}]`))
		}, 400},
		{"a lone surrogate escape in the token", func(f *scanFixture, t *testing.T) *lambdahttp.Request {
			return signed(f.signer, []byte(`[{"token":"csk_live_\ud800","type":"t"}]`))
		}, 400},
		{"too many items", func(f *scanFixture, t *testing.T) *lambdahttp.Request {
			ms := make([]secretscantest.Match, secretscan.MaxReportItems+1)
			for i := range ms {
				ms[i] = match(liveKey, "")
			}
			return signed(f.signer, secretscantest.Report(ms...))
		}, 400},
		{"key list unreachable for an unseen identifier", func(f *scanFixture, t *testing.T) *lambdahttp.Request {
			f.gh.SetDown(true)
			return signed(f.signer, good)
		}, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newScanFixture(t, liveKey)
			status, _, err := f.call(t, tt.req(f, t))
			if status != tt.status {
				t.Fatalf("status %d, want %d (err %v)", status, tt.status, err)
			}
			var e *apierr.Error
			if !errors.As(err, &e) || e.Message == "" || strings.Contains(e.Message, "csk_live_") {
				t.Fatalf("error %v is not a clean envelope error", err)
			}
			if n := f.ledger.calls.Load(); n != 0 {
				t.Fatalf("%d ReportLeak calls on a refused report", n)
			}
			if !f.ledger.live[liveKey] {
				t.Fatal("a refused report revoked the key")
			}
		})
	}
}

// GitHub rotates its key: a report signed with a key published after the
// cached list was fetched is refused while the refetch is rate limited, and
// accepted once a refetch is allowed.
func TestSecretScanStaleKeyList(t *testing.T) {
	f := newScanFixture(t, liveKey, otherKey)
	if _, _, err := f.call(t, signed(f.signer, secretscantest.Report(match(liveKey, blobURL)))); err != nil {
		t.Fatal(err)
	}
	rotated := f.gh.AddKey(t, "gh-key-2")
	body := secretscantest.Report(match(otherKey, blobURL))
	// The list was fetched a moment ago: no refetch yet, the identifier is
	// unknown, the report is refused.
	status, _, _ := f.call(t, signed(rotated, body))
	if status != 401 {
		t.Fatalf("new key within the refetch interval: status %d, want 401", status)
	}
	if n := f.gh.Hits.Load(); n != 1 {
		t.Fatalf("%d key list fetches, want 1", n)
	}
	f.clk.Advance(secretscan.DefaultRefetchInterval)
	status, fb, err := f.call(t, signed(rotated, body))
	if status != 200 || len(fb) != 1 || fb[0].Label != secretscan.TruePositive {
		t.Fatalf("after the interval: status %d, %+v, %v", status, fb, err)
	}
	if n := f.gh.Hits.Load(); n != 2 {
		t.Fatalf("%d key list fetches, want 2", n)
	}
}

// FuzzSecretScan drives the whole handler with arbitrary bodies, signed
// correctly (mode 0) or not (1: signature of another body, 2: unknown key
// identifier, 3: garbled signature, 4: no headers). Invariants: no panic;
// every failure is an envelope error of 400, 401 or 503, never a 500; an
// unsigned request is 401 and reaches no key; a signed one is 200 exactly
// when secretscan.ParseReport accepts the body, and then every distinct token
// gets one label, true_positive exactly for the live key.
func FuzzSecretScan(f *testing.F) {
	for _, seed := range []string{
		`[{"token":"` + liveKey + `","type":"keygate_api_key","url":"` + blobURL + `","source":"content"}]`,
		`[{"token":"` + liveKey + `","type":"t","url":"","source":"s"},{"token":"` + liveKey + `","type":"t","url":"","source":"s"},{"token":"x","type":"t","url":"","source":"s"}]`,
		`[{"token":"a","token":"b","type":"t","url":"","source":"s"}]`,
		`[]`,
		`{`,
	} {
		for mode := range byte(5) {
			f.Add([]byte(seed), mode)
		}
	}
	gh := secretscantest.New(f)
	signer := gh.AddKey(f, "gh-key-1")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	verifier := &secretscan.Verifier{Keys: secretscan.NewKeySource(secretscan.KeySourceOptions{
		URL: gh.URL, Clock: clock.NewFixed(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)), Log: quiet,
	})}
	f.Fuzz(func(t *testing.T, body []byte, mode byte) {
		ledger := newLedger(liveKey)
		h := handlers.SecretScan(verifier, ledger, quiet)
		r := signed(signer, body)
		switch mode % 5 {
		case 1:
			r.Headers[secretscan.HeaderSignature] = signer.Sign(append([]byte("x"), body...))
		case 2:
			r.Headers[secretscan.HeaderKeyID] = "gh-key-unknown"
		case 3:
			sig := []byte(r.Headers[secretscan.HeaderSignature])
			sig[len(sig)/2] ^= 0x01
			r.Headers[secretscan.HeaderSignature] = string(sig)
		case 4:
			r.Headers = nil
		}
		resp, err := h(context.Background(), r)
		if err != nil {
			var e *apierr.Error
			if !errors.As(err, &e) || e.Message == "" {
				t.Fatalf("error %v is not an envelope error", err)
			}
			switch e.Code {
			case apierr.Unauthorized, apierr.BadRequest, apierr.ServiceUnavailable:
			default:
				t.Fatalf("status %d (%v)", apierr.Status(e.Code), err)
			}
			if mode%5 != 0 && e.Code != apierr.Unauthorized {
				t.Fatalf("unsigned request (mode %d): %v, want 401", mode%5, err)
			}
			if mode%5 == 0 && e.Code == apierr.Unauthorized {
				t.Fatalf("signed request refused as unsigned: %v", err)
			}
			if _, perr := secretscan.ParseReport(body); mode%5 == 0 && perr == nil {
				t.Fatalf("signed, parseable report refused: %v", err)
			}
			if ledger.calls.Load() != 0 {
				t.Fatal("a refused request reached the key service")
			}
			return
		}
		if mode%5 != 0 {
			t.Fatalf("unsigned request (mode %d) accepted", mode%5)
		}
		ms, perr := secretscan.ParseReport(body)
		if perr != nil {
			t.Fatalf("accepted a body ParseReport refuses: %v", perr)
		}
		fb, ok := resp.Data.([]secretscan.Feedback)
		if !ok || !resp.Bare || resp.Status != 200 {
			t.Fatalf("response %+v", resp)
		}
		d := secretscan.Distinct(ms)
		if len(fb) != len(d) {
			t.Fatalf("%d labels for %d distinct tokens", len(fb), len(d))
		}
		for i, x := range fb {
			want := secretscan.FalsePositive
			if x.TokenRaw == liveKey {
				want = secretscan.TruePositive
			}
			if x.TokenRaw != d[i].Token || x.TokenType != d[i].Type || x.Label != want {
				t.Fatalf("label %d = %+v for %+v", i, x, d[i])
			}
		}
	})
}
