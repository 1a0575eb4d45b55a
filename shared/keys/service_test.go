package keys_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/principal"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func service(t *testing.T) *keys.Service {
	limits := config.DefaultLimits()
	limits.MaxActiveKeys = 3
	return &keys.Service{Store: testenv.Store(t), Clock: clock.NewFixed(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)), Limits: limits}
}

var alice = principal.Principal{Sub: "alice", Tier: principal.Pro, Method: principal.ViaJWT}

func code(err error) apierr.Code {
	var e *apierr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func ptr[T any](v T) *T { return &v }

func TestCreateRetriesOnPrefixCollision(t *testing.T) {
	ctx := context.Background()
	svc := service(t)
	same := bytes.Repeat([]byte{0xab}, 16)
	svc.Rand = bytes.NewReader(same)
	first, err := svc.Create(ctx, alice, keys.CreateInput{Name: ptr("first")})
	if err != nil {
		t.Fatal(err)
	}
	// The next key draws the same 16 bytes first, then fresh ones.
	fresh := bytes.Repeat([]byte{0x01}, 16)
	svc.Rand = io.MultiReader(bytes.NewReader(same), bytes.NewReader(fresh))
	second, err := svc.Create(ctx, alice, keys.CreateInput{Name: ptr("second")})
	if err != nil {
		t.Fatal(err)
	}
	if first.Record.Prefix == second.Record.Prefix || second.Key.String() != "csk_live_01010101010101010101010101010101" {
		t.Fatalf("collision not retried: %s then %s", first.Record.Prefix, second.Record.Prefix)
	}
}

func TestSlotCounterDriftIsRepaired(t *testing.T) {
	ctx := context.Background()
	svc := service(t)
	if _, err := svc.Create(ctx, alice, keys.CreateInput{Name: ptr("real")}); err != nil {
		t.Fatal(err)
	}
	// Two processes died between reserving a slot and writing their key:
	// the counter says full while only one key is active.
	clk := svc.Clock.(*clock.Fixed)
	for range 2 {
		if err := svc.Store.ReserveSlot(ctx, "alice", 3, clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Create(ctx, alice, keys.CreateInput{Name: ptr("too soon")}); code(err) != apierr.Forbidden {
		t.Fatalf("a counter that moved within the quiet period must not be recounted: %v", err)
	}
	clk.Advance(keys.SlotRepairQuiet)
	if _, err := svc.Create(ctx, alice, keys.CreateInput{Name: ptr("after drift")}); err != nil {
		t.Fatalf("create after drift: %v", err)
	}
	if _, err := svc.Create(ctx, alice, keys.CreateInput{Name: ptr("third")}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, alice, keys.CreateInput{Name: ptr("fourth")}); code(err) != apierr.Forbidden {
		t.Fatalf("fourth key with cap 3: %v", err)
	}
	clk.Advance(time.Hour)
	if _, err := svc.Create(ctx, alice, keys.CreateInput{Name: ptr("fourth, later")}); code(err) != apierr.Forbidden {
		t.Fatalf("a true count at the cap is not drift: %v", err)
	}
}

func TestConcurrentCreatesNeverPassTheCap(t *testing.T) {
	ctx := context.Background()
	svc := service(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.Create(ctx, alice, keys.CreateInput{Name: ptr("k")})
			mu.Lock()
			defer mu.Unlock()
			switch code(err) {
			case "":
				created++
			case apierr.Forbidden:
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if created != 3 {
		t.Fatalf("%d keys created with cap 3", created)
	}
}

func TestRules(t *testing.T) {
	ctx := context.Background()
	svc := service(t)
	cases := []struct {
		name string
		p    principal.Principal
		in   keys.CreateInput
		code apierr.Code
		msg  string
	}{
		{"key principal is forbidden", principal.Principal{Sub: "alice", Tier: principal.Pro, Method: principal.ViaKey}, keys.CreateInput{Name: ptr("a")}, apierr.Forbidden, "not an API key"},
		{"free tier is forbidden", principal.Principal{Sub: "f", Tier: principal.Free, Method: principal.ViaJWT}, keys.CreateInput{Name: ptr("a")}, apierr.Forbidden, "Pro tier"},
		{"name is required", alice, keys.CreateInput{}, apierr.BadRequest, "'name'"},
		{"100 characters is the most", alice, keys.CreateInput{Name: ptr(strings.Repeat("é", 101))}, apierr.BadRequest, "at most 100"},
		{"tab is a control character", alice, keys.CreateInput{Name: ptr("a\tb")}, apierr.BadRequest, "control"},
		{"DEL is a control character", alice, keys.CreateInput{Name: ptr("a\x7fb")}, apierr.BadRequest, "control"},
		{"C1 control characters too", alice, keys.CreateInput{Name: ptr("a\u0085b")}, apierr.BadRequest, "control"},
		{"a bidi override is refused", alice, keys.CreateInput{Name: ptr("prod\u202egnp.exe")}, apierr.BadRequest, "invisible"},
		{"a zero-width space is refused", alice, keys.CreateInput{Name: ptr("ci\u200bbot")}, apierr.BadRequest, "invisible"},
		{"zero dailyLimit is a bad request", alice, keys.CreateInput{Name: ptr("a"), DailyLimit: ptr(0)}, apierr.BadRequest, "1 to 10000"},
		{"pro cap is 10000, over it is forbidden", alice, keys.CreateInput{Name: ptr("a"), DailyLimit: ptr(10_001)}, apierr.Forbidden, "at most 10000"},
		{"team cap is 50000", principal.Principal{Sub: "t", Tier: principal.Team, Method: principal.ViaJWT}, keys.CreateInput{Name: ptr("a"), DailyLimit: ptr(50_001)}, apierr.Forbidden, "at most 50000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.Create(ctx, tc.p, tc.in)
			if code(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %s mentioning %q", err, tc.code, tc.msg)
			}
		})
	}
	t.Run("100 characters after trimming are fine, defaults apply", func(t *testing.T) {
		c, err := svc.Create(ctx, alice, keys.CreateInput{Name: ptr("  " + strings.Repeat("é", 100) + "\n")})
		if err != nil {
			t.Fatal(err)
		}
		if c.Record.DailyLimit != 250 || len([]rune(c.Record.Name)) != 100 {
			t.Fatalf("record %+v", c.Record)
		}
	})
	t.Run("enterprise may set a million", func(t *testing.T) {
		p := principal.Principal{Sub: "e", Tier: principal.Enterprise, Method: principal.ViaJWT}
		if _, err := svc.Create(ctx, p, keys.CreateInput{Name: ptr("big"), DailyLimit: ptr(1_000_000)}); err != nil {
			t.Fatal(err)
		}
	})
}
