package browser

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keygate/keygate/local/devfile"
)

// printed returns the value of `export NAME=...` in what make dev prints.
func printed(t *testing.T, intro, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  export ` + name + `=(\S+)$`).FindStringSubmatch(intro)
	if m == nil {
		t.Fatalf("make dev prints no export %s=:\n%s", name, intro)
	}
	return m[1]
}

// TestTerminalKeysShowInConsole: a key made over HTTP with the token make dev
// prints, and one made with a fresh token from the README's /token?user=
// line, are in the console for the same demo user; a workspace key made with
// the printed team member's token is in another member's workspace view.
func TestTerminalKeysShowInConsole(t *testing.T) {
	e := browserEnv(t)
	if first := e.stack.API.App.Config.Issuers[0]; first != e.stack.Pool.Issuer {
		t.Fatalf("the first trusted issuer is %s, not the demo users' pool %s: their subs would not be the console's owner ids", first, e.stack.Pool.Issuer)
	}
	intro := e.stack.Intro(context.Background())
	stamp := time.Now().Format("150405.000")

	created := func(status int, _ http.Header, m map[string]any) string {
		t.Helper()
		d, _ := m["data"].(map[string]any)
		p, _ := d["prefix"].(string)
		if status != 201 || p == "" {
			t.Fatalf("create: %d %v", status, m)
		}
		return p
	}
	printedKey := created(callAPI(t, e, "POST", "/v1/api-keys", printed(t, intro, "TOKEN"), `{"name":"Made with the printed token `+stamp+`"}`))

	// The README's line for a fresh token after the hour.
	resp, err := http.Get(e.stack.API.Issuer.URL + "/token?user=pro@example.com")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/token?user=pro@example.com: %d %s", resp.StatusCode, b)
	}
	freshKey := created(callAPI(t, e, "POST", "/v1/api-keys", strings.TrimSpace(string(b)), `{"name":"Made with a fresh token `+stamp+`"}`))

	status, _, _ := callAPI(t, e, "POST", "/api/v1/workspaces/acme/api-keys", printed(t, intro, "TEAM_TOKEN"), `{"name":"Made by alice with curl `+stamp+`"}`)
	if status != 201 {
		t.Fatalf("workspace create with the printed team token: %d", status)
	}

	pro := newTab(t, e)
	pro.signIn("pro@example.com")
	pro.waitText(card(printedKey)+" .key-name", "Made with the printed token "+stamp)
	pro.waitText(card(freshKey)+" .key-name", "Made with a fresh token "+stamp)

	bob := newTab(t, e)
	bob.signIn("bob@example.com")
	bob.do(chromedp.Click(chromedp.CSS(`[data-testid=workspace-tab]`)))
	bob.waitText(`#keys-title`, "Workspace acme")
	bob.waitText(`.keys`, "Made by alice with curl "+stamp)
}

// TestAdminTierChangeShowsInConsole: `keygate-admin --local set-tier --user
// <email> --tier free`, as the README prints it, run against the stack
// through the .dev/local.json make dev writes, shows the user's key as
// suspended in the console after a reload; back on their tier, active again.
// It is alice's personal key, not the Pro user's: the tier billing stores
// outlives the test, and other tests rely on pro@example.com having none.
func TestAdminTierChangeShowsInConsole(t *testing.T) {
	e := browserEnv(t)
	dir := t.TempDir()
	if err := devfile.WriteIn(dir, e.stack.LocalFile()); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "keygate-admin")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/keygate/keygate/cmd/keygate-admin").CombinedOutput(); err != nil {
		t.Fatalf("build keygate-admin: %v\n%s", err, out)
	}
	admin := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--local"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "KEYGATE_TABLE=", "KEYGATE_DYNAMODB_ENDPOINT=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("keygate-admin %v: %v\n%s", args, err, out)
		}
		return string(out)
	}

	tb := newTab(t, e)
	tb.signIn("alice@example.com")
	key := tb.createKey("Billing downgrade "+time.Now().Format("150405.000"), "")
	c := card(key[:17])
	tb.waitText(c+" .badge", "Active")

	restored := false
	t.Cleanup(func() {
		if !restored {
			admin("set-tier", "--user", "alice@example.com", "--tier", "team")
		}
	})
	out := admin("set-tier", "--user", "alice@example.com", "--tier", "free")
	if !strings.Contains(out, "is now on tier free") || !strings.Contains(out, "suspended") {
		t.Fatalf("set-tier said %q", out)
	}
	tb.do(chromedp.Reload())
	tb.waitText(c+" .badge", "Suspended")
	if status, _, _ := callAPI(t, e, "GET", "/v1/usage", key, ""); status != 401 {
		t.Errorf("a suspended key: %d, want 401", status)
	}
	var listed []map[string]any
	if err := json.Unmarshal([]byte(admin("--json", "keys", "--user", "alice@example.com")), &listed); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, k := range listed {
		found = found || (k["prefix"] == key[:17] && k["status"] == "suspended")
	}
	if !found {
		t.Errorf("keygate-admin keys does not list %s as suspended: %v", key[:17], listed)
	}

	admin("set-tier", "--user", "alice@example.com", "--tier", "team")
	restored = true
	tb.do(chromedp.Reload())
	tb.waitText(c+" .badge", "Active")
}
