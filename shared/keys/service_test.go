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
	svc.Rand = io.MultiReader(bytes.NewReader(bytes.Repeat([]byte{0x03}, 16)), bytes.NewReader(same))
	first, err := svc.Create(ctx, alice, keys.User(alice.Sub), keys.CreateInput{Name: ptr("first")})
	if err != nil {
		t.Fatal(err)
	}
	// The next key draws its id, then the same 16 bytes, then fresh ones.
	fresh := bytes.Repeat([]byte{0x01}, 16)
	id := bytes.Repeat([]byte{0x02}, 16)
	svc.Rand = io.MultiReader(bytes.NewReader(id), bytes.NewReader(same), bytes.NewReader(fresh))
	second, err := svc.Create(ctx, alice, keys.User(alice.Sub), keys.CreateInput{Name: ptr("second")})
	if err != nil {
		t.Fatal(err)
	}
	if first.Key.Prefix == second.Key.Prefix || second.Secret.String() != "csk_live_01010101010101010101010101010101" {
		t.Fatalf("collision not retried: %s then %s", first.Key.Prefix, second.Key.Prefix)
	}
	got, err := svc.Store.GetKey(ctx, second.Key.Prefix)
	if err != nil || got.ID != second.Key.ID {
		t.Fatalf("the retried key's record: %+v %v", got, err)
	}
	if p, err := svc.Store.KeyPrefix(ctx, second.Key.ID); err != nil || p != second.Key.Prefix {
		t.Fatalf("the retried key's id points at %q (%v), want %s", p, err, second.Key.Prefix)
	}
}

func TestSlotCounterDriftIsRepaired(t *testing.T) {
	ctx := context.Background()
	svc := service(t)
	if _, err := svc.Create(ctx, alice, keys.User(alice.Sub), keys.CreateInput{Name: ptr("real")}); err != nil {
		t.Fatal(err)
	}
	// Two processes died between reserving a slot and writing their key:
	// the counter says full while only one key is active.
	clk := svc.Clock.(*clock.Fixed)
	for range 2 {
		if _, err := svc.Store.ReserveSlot(ctx, keys.User("alice"), 3, clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Create(ctx, alice, keys.User(alice.Sub), keys.CreateInput{Name: ptr("too soon")}); code(err) != apierr.Forbidden {
		t.Fatalf("a counter that moved within the quiet period must not be recounted: %v", err)
	}
	clk.Advance(keys.SlotRepairQuiet)
	if _, err := svc.Create(ctx, alice, keys.User(alice.Sub), keys.CreateInput{Name: ptr("after drift")}); err != nil {
		t.Fatalf("create after drift: %v", err)
	}
	if _, err := svc.Create(ctx, alice, keys.User(alice.Sub), keys.CreateInput{Name: ptr("third")}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, alice, keys.User(alice.Sub), keys.CreateInput{Name: ptr("fourth")}); code(err) != apierr.Forbidden {
		t.Fatalf("fourth key with cap 3: %v", err)
	}
	clk.Advance(time.Hour)
	if _, err := svc.Create(ctx, alice, keys.User(alice.Sub), keys.CreateInput{Name: ptr("fourth, later")}); code(err) != apierr.Forbidden {
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
			_, err := svc.Create(ctx, alice, keys.User(alice.Sub), keys.CreateInput{Name: ptr("k")})
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
		{"a name of Braille blanks has nothing visible", alice, keys.CreateInput{Name: ptr("\u2800\u2800")}, apierr.BadRequest, "visible"},
		{"a name of Hangul fillers has nothing visible", alice, keys.CreateInput{Name: ptr("\u3164")}, apierr.BadRequest, "visible"},
		{"a line separator is refused", alice, keys.CreateInput{Name: ptr("a\u2028b")}, apierr.BadRequest, "separator"},
		{"a name of ideographic spaces is empty", alice, keys.CreateInput{Name: ptr("\u3000\u3000")}, apierr.BadRequest, "'name'"},
		{"expiresAt must be RFC 3339", alice, keys.CreateInput{Name: ptr("a"), ExpiresAt: ptr("tomorrow")}, apierr.BadRequest, "'expiresAt' must be an RFC 3339"},
		{"expiresAt must be in the future", alice, keys.CreateInput{Name: ptr("a"), ExpiresAt: ptr("2026-11-25T09:00:00Z")}, apierr.BadRequest, "future"},
		{"expiresAt at most 366 days ahead", alice, keys.CreateInput{Name: ptr("a"), ExpiresAt: ptr("2027-11-27T10:00:00Z")}, apierr.BadRequest, "366 days"},
		{"snake_case surfaces name their fields", alice, keys.CreateInput{Name: ptr("a"), DailyLimit: ptr(0), Fields: keys.SnakeCase}, apierr.BadRequest, "'daily_limit'"},
		{"zero dailyLimit is a bad request", alice, keys.CreateInput{Name: ptr("a"), DailyLimit: ptr(0)}, apierr.BadRequest, "1 to 10000"},
		{"pro cap is 10000, over it is forbidden", alice, keys.CreateInput{Name: ptr("a"), DailyLimit: ptr(10_001)}, apierr.Forbidden, "at most 10000"},
		{"team cap is 50000", principal.Principal{Sub: "t", Tier: principal.Team, Method: principal.ViaJWT}, keys.CreateInput{Name: ptr("a"), DailyLimit: ptr(50_001)}, apierr.Forbidden, "at most 50000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.Create(ctx, tc.p, keys.User(tc.p.Sub), tc.in)
			if code(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %s mentioning %q", err, tc.code, tc.msg)
			}
		})
	}
	t.Run("100 characters after trimming are fine, defaults apply", func(t *testing.T) {
		c, err := svc.Create(ctx, alice, keys.User(alice.Sub), keys.CreateInput{Name: ptr("  " + strings.Repeat("é", 100) + "\n")})
		if err != nil {
			t.Fatal(err)
		}
		if c.Key.DailyLimit != 250 || len([]rune(c.Key.Name)) != 100 || c.Key.Status != keys.Active || !keys.ValidID(c.Key.ID) {
			t.Fatalf("key %+v", c.Key)
		}
	})
	t.Run("a name with visible characters among blanks is fine", func(t *testing.T) {
		if _, err := svc.Create(ctx, alice, keys.User(alice.Sub), keys.CreateInput{Name: ptr("\u2800CI\u3164")}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("enterprise may set a million", func(t *testing.T) {
		p := principal.Principal{Sub: "e", Tier: principal.Enterprise, Method: principal.ViaJWT}
		if _, err := svc.Create(ctx, p, keys.User(p.Sub), keys.CreateInput{Name: ptr("big"), DailyLimit: ptr(1_000_000)}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id, err := keys.NewID(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !keys.ValidID(id) || id[14] != '4' || !strings.ContainsRune("89ab", rune(id[19])) || seen[id] {
			t.Fatalf("id %q is not a fresh UUID v4", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "550e8400-e29b-41d4-a716-44665544000", "550E8400-E29B-41D4-A716-446655440000", "550e8400e29b41d4a716446655440000xxxx", "550e8400-e29b-41d4-a716_446655440000"} {
		if keys.ValidID(bad) {
			t.Fatalf("ValidID(%q)", bad)
		}
	}
}

func TestWorkspaceOwner(t *testing.T) {
	member := principal.Principal{Sub: "a", Tier: principal.Team, TeamID: "team-1", Method: principal.ViaJWT}
	with := func(edit func(p *principal.Principal)) principal.Principal {
		p := member
		edit(&p)
		return p
	}
	same, other := "team-1", "team-2"
	tests := []struct {
		name   string
		p      principal.Principal
		id     string
		header *string
		code   apierr.Code
	}{
		{"a team member is let in", member, "team-1", nil, ""},
		{"an enterprise member is let in", with(func(p *principal.Principal) { p.Tier = principal.Enterprise }), "team-1", nil, ""},
		{"a matching X-Workspace-ID is fine", member, "team-1", &same, ""},
		{"another team's workspace is 404", member, "team-2", nil, apierr.NotFound},
		{"no team is 404", with(func(p *principal.Principal) { p.TeamID = "" }), "team-1", nil, apierr.NotFound},
		{"a malformed id is 404", member, "team 1", nil, apierr.NotFound},
		{"a pro member is 403", with(func(p *principal.Principal) { p.Tier = principal.Pro }), "team-1", nil, apierr.Forbidden},
		{"an API key is 403", with(func(p *principal.Principal) { p.Method = principal.ViaKey }), "team-1", nil, apierr.Forbidden},
		{"a different X-Workspace-ID is 400", member, "team-1", &other, apierr.BadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := keys.WorkspaceOwner(tt.p, tt.id, tt.header)
			if code(err) != tt.code {
				t.Fatalf("got %v, want %q", err, tt.code)
			}
			if err == nil && o != keys.Workspace(tt.id) {
				t.Fatalf("owner %+v", o)
			}
		})
	}
	t.Run("an unknown workspace and another team's answer identically", func(t *testing.T) {
		_, a := keys.WorkspaceOwner(member, "team-2", nil)
		_, b := keys.WorkspaceOwner(member, "no-such-team", nil)
		if strings.ReplaceAll(a.Error(), "team-2", "X") != strings.ReplaceAll(b.Error(), "no-such-team", "X") {
			t.Fatalf("%v\n%v", a, b)
		}
	})
}
