package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devfile"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/config"
)

func TestMain(m *testing.M) {
	settle = 0 // dynalite's index does not lag
	testenv.Main(m)
}

// setClock runs the command on the test stack's clock for the test.
func setClock(t *testing.T, c clock.Clock) {
	old := clk
	clk = c
	t.Cleanup(func() { clk = old })
}

// admin runs the command against the stack's table, as an operator would
// with --table and --endpoint.
func admin(t *testing.T, table string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	env := func(k string) string {
		if k == config.EnvDynamoDBEndpoint {
			return testenv.Endpoint(t)
		}
		return ""
	}
	code := run(context.Background(), append([]string{"--table", table}, args...), env, &out, &errb)
	return out.String(), errb.String(), code
}

// TestAdmin runs the whole command against a test stack on two dates a year
// apart (the second one's three-day history crosses a month), so nothing in
// it or in the command reads the wall clock's date.
func TestAdmin(t *testing.T) {
	for _, day := range []time.Time{
		time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		time.Date(2027, 12, 1, 9, 30, 0, 0, time.UTC),
	} {
		t.Run(clock.Day(day), func(t *testing.T) { testAdmin(t, clock.NewFixed(day)) })
	}
}

func testAdmin(t *testing.T, clk *clock.Fixed) {
	s := testenv.Stack(t, testenv.Options{Clock: clk})
	setClock(t, clk)
	c := testenv.NewClient(t, s)
	table := s.App.Config.Table
	tok := testenv.Token(t, s, devissuer.Token{Sub: "olga", Tier: "enterprise"})
	key, prefix := c.CreateKey(tok, map[string]any{"name": "billing test", "dailyLimit": 20000})
	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 200, "")

	t.Run("owner finds who a prefix belongs to", func(t *testing.T) {
		out, errs, code := admin(t, table, "owner", prefix)
		if code != 0 || !strings.Contains(out, "user olga") || !strings.Contains(out, "billing test") || !strings.Contains(out, "used today 1") {
			t.Fatalf("%d %s %s", code, out, errs)
		}
		out, _, code = admin(t, table, "--json", "owner", prefix)
		var v map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["owner"] != "olga" || v["ownerKind"] != "user" {
			t.Fatalf("%d %s", code, out)
		}
		if strings.Contains(out, key[17:]) {
			t.Fatal("the operator's view shows the secret")
		}
	})
	t.Run("usage shows a key's days", func(t *testing.T) {
		out, errs, code := admin(t, table, "usage", "--days", "3", prefix)
		if code != 0 || !strings.Contains(out, "1 of 20000 used today ("+clock.Day(clk.Now())+")") {
			t.Fatalf("%d %q %s", code, out, errs)
		}
		for back := 2; back >= 0; back-- {
			if day := clock.Day(clk.Now().AddDate(0, 0, -back)); !strings.Contains(out, "\n  "+day+" ") {
				t.Fatalf("no line for %s: %q", day, out)
			}
		}
	})
	t.Run("dropping to free suspends the keys, coming back lowers them to the cap", func(t *testing.T) {
		out, errs, code := admin(t, table, "set-tier", "--user", "olga", "--tier", "free")
		if code != 0 || !strings.Contains(out, "user olga is now on tier free: 1 key (1 not revoked or expired), 1 budget suspended, 0 budgets restored, 0 limits lowered") {
			t.Fatalf("%d %s %s", code, out, errs)
		}
		testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 401, "Unauthorized")
		out, _, code = admin(t, table, "set-tier", "--user", "olga", "--tier", "pro")
		if code != 0 || !strings.Contains(out, "1 key (1 not revoked or expired), 0 budgets suspended, 1 budget restored, 1 limit lowered") {
			t.Fatalf("%d %s", code, out)
		}
		r := c.Do("GET", "/v1/usage", testenv.Bearer(key), nil)
		testenv.Must(t, r, 200, "")
		if r.Header.Get("X-RateLimit-Limit") != "10000" {
			t.Fatalf("%v", r.Header)
		}
	})
	t.Run("revoke revokes any key with reason admin", func(t *testing.T) {
		out, errs, code := admin(t, table, "revoke", prefix)
		if code != 0 || !strings.Contains(out, "revoked (admin") {
			t.Fatalf("%d %s %s", code, out, errs)
		}
		testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 401, "Unauthorized")
		r := c.Do("GET", "/v1/api-keys?status=all", testenv.Bearer(tok), nil)
		if k := r.Data()["keys"].([]any)[0].(map[string]any); k["revokedReason"] != "admin" {
			t.Fatalf("%s", r.Body)
		}
		_, errs, code = admin(t, table, "revoke", prefix)
		if code != 1 || !strings.Contains(errs, "already revoked") {
			t.Fatalf("%d %s", code, errs)
		}
	})
	t.Run("a workspace's tier", func(t *testing.T) {
		m := testenv.Token(t, s, devissuer.Token{Sub: "m", Tier: "team", TeamID: "ws-9"})
		r := c.Do("POST", "/api/v1/workspaces/ws-9/api-keys", testenv.Bearer(m), map[string]any{"name": "ci"})
		testenv.MustBare(t, r, 201, "")
		if _, errs, code := admin(t, table, "set-tier", "--workspace", "ws-9", "--tier", "free"); code != 0 {
			t.Fatal(errs)
		}
		testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(r.JSON["key"].(string)), nil), 401, "Unauthorized")
	})
	t.Run("keys lists an owner's prefixes", func(t *testing.T) {
		out, errs, code := admin(t, table, "keys", "--user", "olga")
		if code != 0 || !strings.Contains(out, "user olga has 0 keys (live, newest first)") {
			t.Fatalf("%d %q %s", code, out, errs)
		}
		out, errs, code = admin(t, table, "keys", "--all", "--user", "olga")
		if code != 0 || !strings.Contains(out, "user olga has 1 key (all, newest first):\n  "+prefix+"  revoked") || !strings.Contains(out, `"billing test"`) {
			t.Fatalf("%d %q %s", code, out, errs)
		}
		out, errs, code = admin(t, table, "keys", "--workspace", "0123abcd|ws-9")
		if code != 0 || !strings.Contains(out, "workspace 0123abcd|ws-9 has 0 keys") {
			t.Fatalf("another issuer's workspace, as keygate stores it: %d %q %s", code, out, errs)
		}
		out, _, code = admin(t, table, "--json", "keys", "--all", "--user", "olga")
		var v []map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil || len(v) != 1 || v[0]["prefix"] != prefix {
			t.Fatalf("%d %s", code, out)
		}
	})
	t.Run("bad invocations say what is wrong", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			says string
		}{
			{[]string{"set-tier", "--user", "a", "--tier", "gold"}, `"gold" is not free`},
			{[]string{"set-tier", "--tier", "pro"}, "exactly one of --user USER and --workspace ID"},
			{[]string{"set-tier", "--user", "a", "--workspace", "b", "--tier", "pro"}, "exactly one of"},
			{[]string{"set-tier", "--user", "a", "--tier", "pro", "--colour"}, "flag provided but not defined: -colour"},
			{[]string{"keys"}, "exactly one of"},
			{[]string{"owner"}, "give exactly one key prefix"},
			{[]string{"owner", "csk_live_a1b2c3d"}, "is not a key prefix"},
			{[]string{"owner", "csk_live_A1B2C3D4"}, "is not a key prefix"},
			{[]string{"frobnicate"}, `unknown command "frobnicate"`},
			{[]string{"set-tier", "--user", "pro@example.com", "--tier", "free"}, "an email is resolved only with --local"},
		} {
			if _, errs, code := admin(t, table, tt.args...); code != 2 || !strings.Contains(errs, tt.says) {
				t.Errorf("%v: %d %q, want it to say %q", tt.args, code, errs, tt.says)
			}
		}
		_, errs, code := admin(t, table, "owner", "csk_live_00000000")
		if code != 1 || !strings.Contains(errs, "No API key") || !strings.Contains(errs, "keygate-admin keys --user SUB") {
			t.Fatalf("%d %q", code, errs)
		}
		if out, _, code := admin(t, table, "owner", key); code != 0 || !strings.Contains(out, prefix) {
			t.Fatalf("a whole key is taken by its prefix: %d %q", code, out)
		}
	})
	t.Run("--local reads the table make dev serves and its demo users", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, ".dev"), 0o755); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(devfile.Local{Endpoint: testenv.Endpoint(t), Table: table, Users: []devfile.User{
			{Email: "olga@example.com", Sub: "olga", Tier: "enterprise"},
			{Email: "m@example.com", Sub: "m", Tier: "team", TeamID: "ws-9"},
		}})
		if err := os.WriteFile(filepath.Join(dir, devfile.Path), b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Chdir(filepath.Join(dir, ".dev"))
		local := func(args ...string) (string, string, int) {
			var out, errb bytes.Buffer
			code := run(context.Background(), append([]string{"--local"}, args...), func(string) string { return "" }, &out, &errb)
			return out.String(), errb.String(), code
		}
		if _, errs, code := local("owner", prefix); code != 0 {
			t.Fatalf("%d %s", code, errs)
		}
		out, errs, code := local("keys", "--all", "--user", "Olga@Example.com")
		if code != 0 || !strings.Contains(out, "user olga@example.com (olga) has 1 key") || !strings.Contains(out, prefix) {
			t.Fatalf("an email names the demo user's sub: %d %q %s", code, out, errs)
		}
		out, errs, code = local("set-tier", "--user", "olga@example.com", "--tier", "enterprise")
		if code != 0 || !strings.Contains(out, "user olga@example.com (olga) is now on tier enterprise: 1 key (") {
			t.Fatalf("%d %q %s", code, out, errs)
		}
		if _, errs, code := local("keys", "--user", "eve@example.com"); code != 2 || !strings.Contains(errs, "olga@example.com, m@example.com") {
			t.Fatalf("an unknown email names the demo users: %d %q", code, errs)
		}
		if _, errs, code := local("owner", "csk_live_00000000"); code != 1 || !strings.Contains(errs, "keygate-admin --local keys --user olga@example.com") {
			t.Fatalf("the hint names a demo user: %d %q", code, errs)
		}
	})
}

// TestHelp: help is an answer, not an error (make help suggests it).
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"--local", "help"}, {"keys", "-h"}} {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, func(string) string { return "" }, &out, &errb)
		if code != 0 || !strings.Contains(out.String(), "Usage:\n  keygate-admin [flags] keys") || errb.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), nil, func(string) string { return "" }, &out, &errb); code != 2 || !strings.Contains(errb.String(), "Usage:") {
		t.Errorf("no command: exit %d, stderr %q", code, errb.String())
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0 keys", 1: "1 key", 2: "2 keys", 11: "11 keys"} {
		if got := count(n, "key", "keys"); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}
