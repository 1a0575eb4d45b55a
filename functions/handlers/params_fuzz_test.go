package handlers_test

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/keygate/keygate/functions/handlers"
	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/lambdahttp"
	"github.com/keygate/keygate/shared/metering"
	"github.com/keygate/keygate/shared/principal"
)

var (
	prefixShape = regexp.MustCompile(`^csk_live_[0-9a-f]{8}$`)
	plainDays   = regexp.MustCompile(`^[1-9][0-9]*$`)
	signedIn    = principal.Principal{Sub: "user-1", Tier: principal.Pro, Method: principal.ViaJWT}
	fuzzClock   = clock.NewFixed(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
)

// prefixSpy is the part of the key store the revoke and update routes reach
// first: it records the prefixes read and knows none of them. Any other store
// call panics (nil embedded interface), which the fuzz target reports.
type prefixSpy struct {
	keys.Store
	mu   sync.Mutex
	seen []string
}

func (s *prefixSpy) saw(p string) {
	s.mu.Lock()
	s.seen = append(s.seen, p)
	s.mu.Unlock()
}

func (s *prefixSpy) GetKey(_ context.Context, prefix string) (keys.Record, error) {
	s.saw(prefix)
	return keys.Record{}, keys.ErrNotFound
}

// FuzzPathPrefix sends arbitrary {prefix} path parameters to the revoke and
// update routes. Invariants: no panic; the answer is a NotFound apierr with a
// bounded, valid UTF-8 message; the store is asked about the prefix, unchanged,
// exactly when it matches ^csk_live_[0-9a-f]{8}$ (a garbled path costs no
// read, and no valid one is refused unread).
func FuzzPathPrefix(f *testing.F) {
	for _, s := range []string{"csk_live_a1b2c3d4", "csk_live_A1B2C3D4", "csk_live_a1b2c3d4\n", "csk_live_a1b2c3d", "../csk_live_a1b2c3d4", "csk_live_a1b2c3d4e5f67890abcdef1234567890", "", "\xff\xfe"} {
		f.Add(s)
	}
	log := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, prefix string) {
		spy := &prefixSpy{}
		svc := &keys.Service{Store: spy, Clock: fuzzClock, Limits: config.DefaultLimits(), Log: log}
		routes := map[string]lambdahttp.Handler{"DELETE": handlers.RevokeKey(svc), "PATCH": handlers.UpdateKey(svc)}
		for method, h := range routes {
			spy.seen = nil
			r := &lambdahttp.Request{Principal: signedIn, PathParams: map[string]string{"prefix": prefix}, Body: []byte(`{"name":"renamed"}`)}
			_, err := h(context.Background(), r)
			var e *apierr.Error
			if !errors.As(err, &e) || e.Code != apierr.NotFound {
				t.Fatalf("%s %q: %v, want NotFound", method, prefix, err)
			}
			if !utf8.ValidString(e.Message) || len(e.Message) > 300 {
				t.Fatalf("%s %q: message %q", method, prefix, e.Message)
			}
			valid := prefixShape.MatchString(prefix)
			if valid && (len(spy.seen) != 1 || spy.seen[0] != prefix) {
				t.Fatalf("%s %q: store asked about %q, want exactly the prefix", method, prefix, spy.seen)
			}
			if !valid && len(spy.seen) != 0 {
				t.Fatalf("%s %q: store asked about %q for a prefix of the wrong shape", method, prefix, spy.seen)
			}
		}
	})
}

// noHistory is a budget store with no budgets and no archived days.
type noHistory struct{}

func (noHistory) GetBudgets(context.Context, []string) (map[string]keys.Budget, error) {
	return map[string]keys.Budget{}, nil
}

func (noHistory) History(context.Context, string, string, string) (map[string]int, error) {
	return map[string]int{}, nil
}

// FuzzUsageDays sends arbitrary ?days= values to GET /v1/usage (as an API
// key, the report that needs no key listing). Invariants: no panic; a refusal
// is a BadRequest apierr naming 'days', and only for a days parameter that is
// there; an absent one means 1 day; only plain decimals (no sign, no leading
// zero, no space) are accepted, and an accepted value gives exactly that many
// days of history, 1 to 90; every plain decimal from 1 to 90 is accepted.
func FuzzUsageDays(f *testing.F) {
	for _, s := range []string{"1", "90", "91", "0", "05", "+5", "-1", " 5", "5 ", "\u0665", "1e1", "0x10", "", "99999999999999999999"} {
		f.Add(s, true)
	}
	f.Add("", false)
	rep := &metering.Reporter{Budgets: noHistory{}, Clock: fuzzClock}
	h := handlers.Usage(rep)
	key := principal.Principal{Sub: "user-1", Tier: principal.Pro, Method: principal.ViaKey, KeyPrefix: "csk_live_a1b2c3d4", Budget: "b1", DailyLimit: 100}
	f.Fuzz(func(t *testing.T, days string, present bool) {
		q := map[string]string{}
		if present {
			q["days"] = days
		}
		resp, err := h(context.Background(), &lambdahttp.Request{Principal: key, Query: q})
		n, convErr := strconv.Atoi(days)
		if err != nil {
			var e *apierr.Error
			if !errors.As(err, &e) || e.Code != apierr.BadRequest || !strings.Contains(e.Message, "'days'") {
				t.Fatalf("days=%q: %v, want BadRequest naming 'days'", days, err)
			}
			if !present {
				t.Fatal("refused a request without days")
			}
			if convErr == nil && strconv.Itoa(n) == days && n >= 1 && n <= metering.MaxHistoryDays {
				t.Fatalf("days=%q refused: %v", days, err)
			}
			return
		}
		u := resp.Data.(metering.Usage)
		got := len(u.Keys[0].History)
		if !present {
			if got != 1 {
				t.Fatalf("no days: %d days of history", got)
			}
			return
		}
		if !plainDays.MatchString(days) || convErr != nil || n != got || got < 1 || got > metering.MaxHistoryDays {
			t.Fatalf("days=%q accepted as %d days of history", days, got)
		}
	})
}
