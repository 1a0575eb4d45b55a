package guard_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"

	"github.com/keygate/keygate/guard"
	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/principal"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestStartWiringMetersOnTheTable wires a product Lambda from its
// environment, as Start does, on a real table: the route's cost comes from
// KEYGATE_ROUTES and the one conditional write enforces the limit.
func TestStartWiringMetersOnTheTable(t *testing.T) {
	ctx := context.Background()
	store := testenv.Store(t)
	svc := keys.Service{Store: store, Limits: config.DefaultLimits(), Clock: clock.System{}, Scopes: append(route.Table{}, routes...)}
	owner := principal.Principal{Sub: "user-1", Tier: principal.Pro, Method: principal.ViaJWT}
	name, limit := "wired", 12
	created, err := svc.Create(ctx, owner, keys.User("user-1"), keys.CreateInput{Name: &name, DailyLimit: &limit})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		config.EnvTable: store.Table, config.EnvDynamoDBEndpoint: testenv.Endpoint(t), config.EnvRoutes: route.Encode(routes),
		config.EnvStoreTimeout: "10000",
	}
	served := 0
	l, err := guard.FromEnv(ctx, func(k string) string { return env[k] }, guard.HandlerFunc(func(context.Context, *guard.Request) (guard.Response, error) {
		served++
		return guard.Response{Status: 201}, nil
	}), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	p := created.Key.Principal()
	for i, want := range []struct {
		method, resource string
		status, left     int
	}{
		{"POST", "/v1/things", 201, 7},
		{"POST", "/v1/things", 201, 2},
		{"POST", "/v1/things", 429, 2},
		{"GET", "/v1/things/{id}", 201, 1},
	} {
		resp, err := l(ctx, event(want.method, want.resource, "/v1/things/1", p, ""))
		if err != nil || resp.StatusCode != want.status || resp.Headers["X-RateLimit-Remaining"] != strconv.Itoa(want.left) {
			t.Fatalf("request %d (%s %s): %v %d %v %s", i+1, want.method, want.resource, err, resp.StatusCode, resp.Headers, resp.Body)
		}
	}
	if served != 3 {
		t.Fatalf("the handler served %d requests, want 3", served)
	}
}
