package metering_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/metering"
	"github.com/keygate/keygate/shared/principal"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// usage is the route the meter counts in these tests: GET /v1/usage.
var usage, _ = route.Keygate.Find("GET", "/v1/usage")

var owner = principal.Principal{Sub: "o", Tier: principal.Pro, Method: principal.ViaJWT}

func setup(t *testing.T, clk *clock.Fixed, limit int) (*metering.Meter, *keys.Service, principal.Principal) {
	t.Helper()
	st := testenv.Store(t)
	svc := &keys.Service{Store: st, Clock: clk, Limits: config.DefaultLimits()}
	name := "m"
	c, err := svc.Create(context.Background(), owner, keys.User("o"), keys.CreateInput{Name: &name, DailyLimit: &limit})
	if err != nil {
		t.Fatal(err)
	}
	return &metering.Meter{Counter: st, Clock: clk}, svc, c.Key.Principal()
}

func code(err error) apierr.Code {
	var e *apierr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestQuota(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFixed(time.Date(2026, 11, 25, 19, 12, 0, 0, time.UTC))
	m, _, p := setup(t, clk, 2)
	for i, want := range []int{1, 0} {
		q, err := m.Count(ctx, p, usage, netip.Addr{})
		if err != nil || q.Remaining != want || q.Used != i+1 || q.Limit != 2 || !q.Reset.Equal(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("request %d: %+v %v", i+1, q, err)
		}
	}
	q, err := m.Count(ctx, p, usage, netip.Addr{})
	if code(err) != apierr.RateLimitExceeded || q.Remaining != 0 || q.Limit != 2 {
		t.Fatalf("third request: %+v %v", q, err)
	}
	if !strings.Contains(err.Error(), "(in 4 h 48 min)") {
		t.Fatalf("the wait is not said as a person would: %v", err)
	}
}

func TestMeterRefusesDeadKeys(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFixed(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	m, svc, p := setup(t, clk, 5)
	if _, err := m.Count(ctx, p, usage, netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Revoke(ctx, owner, keys.User("o"), keys.Ref{Prefix: p.KeyPrefix}); err != nil {
		t.Fatal(err)
	}
	q, err := m.Count(ctx, p, usage, netip.Addr{})
	if code(err) != apierr.Unauthorized || q.Limit != 0 {
		t.Fatalf("revoked key, with the principal an authorizer cache still holds: %+v %v", q, err)
	}
}

func TestHumanWait(t *testing.T) {
	clk := clock.NewFixed(time.Date(2026, 11, 25, 23, 59, 40, 0, time.UTC))
	m, _, p := setup(t, clk, 1)
	ctx := context.Background()
	if _, err := m.Count(ctx, p, usage, netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	_, err := m.Count(ctx, p, usage, netip.Addr{})
	if !strings.Contains(err.Error(), "in less than a minute") {
		t.Fatalf("%v", err)
	}
}
