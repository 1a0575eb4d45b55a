package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devfile"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/local/webapp"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestTryItWorksAsPasted runs the printed tours in sh, line by line as a user
// pastes them, with the key the first line created pasted where it says so.
func TestTryItWorksAsPasted(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		testenv.Unavailable(t, "curl is not installed")
	}
	s := testenv.Stack(t, testenv.Options{})
	tok := testenv.Token(t, s, devissuer.Token{Sub: "tour", Tier: "pro"})
	team := testenv.Token(t, s, devissuer.Token{Sub: "tour-member", Tier: "team", TeamID: "acme"})
	env := []string{"TOKEN=" + tok, "TEAM_TOKEN=" + team}
	lines := strings.Split(strings.TrimSpace(webapp.TryIt(s.URL)), "\n")[1:]
	var script []string
	var key string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if strings.Contains(l, " #") {
			t.Errorf("a trailing comment (zsh takes it as arguments at its prompt): %s", l)
		}
		if strings.HasPrefix(l, "export KEY=") {
			l = "export KEY=" + key
		}
		script = append(script, l)
		if key == "" && strings.Contains(l, "-X POST") && strings.HasSuffix(l, "'{\"name\":\"CI Pipeline\",\"dailyLimit\":1000}'") {
			c := exec.Command("sh", "-c", l)
			c.Env = append(c.Environ(), env...)
			out, err := c.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", l, err, out)
			}
			var created struct{ Data struct{ Key string } }
			if err := json.Unmarshal(out, &created); err != nil || created.Data.Key == "" {
				t.Fatalf("create answered %s", out)
			}
			key = created.Data.Key
			script = script[:len(script)-1]
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(webapp.WorkspaceTour(s.URL, "alice@example.com", "acme")), "\n")[1:] {
		if l = strings.TrimSpace(l); l != "" {
			script = append(script, l)
		}
	}
	cmd := exec.Command("sh", "-ec", strings.Join(script, "\n"))
	cmd.Env = append(cmd.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the tour failed in sh: %v\n%s", err, out)
	}
	for _, want := range []string{"X-RateLimit-Limit: 1000", "X-RateLimit-Remaining: 994", `"title":"First report"`, `"reports":[{"id":"rpt_`, `"dailyLimit":100`, `"rotatedFrom":"` + key[:17] + `"`, `"message":"API key revoked"`,
		`"workspace_id":"acme","name":"CI/CD Pipeline Key","key":"csk_live_`, `[{"id":`} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("the tour's output lacks %s:\n%s", want, out)
		}
	}
}

func TestBusyPortNamesItsSetting(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = checkPorts(webapp.Options{Addr: "127.0.0.1:0", IssuerAddr: "127.0.0.1:0", ConsoleAddr: l.Addr().String(), CognitoAddr: "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), envConsoleAddr) || !strings.Contains(err.Error(), l.Addr().String()) {
		t.Fatalf("%v", err)
	}
}

func TestSecondDevOnOneDataDirNamesTheLock(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lockDataDir(dir)
	if err == nil || !strings.Contains(err.Error(), "keygate-dev.lock") || !strings.Contains(err.Error(), envDataDir) {
		t.Fatalf("%v", err)
	}
	unlock()
	again, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("after the first one stopped: %v", err)
	}
	again()
}

// TestVersionCheck runs scripts/check-env.sh (what make dev and make test run
// first) against stand-in go and node binaries of chosen versions.
func TestVersionCheck(t *testing.T) {
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "check-env.sh"))
	if err != nil {
		t.Fatal(err)
	}
	stub := func(dir, name, out string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\necho "+out+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run := func(goVer, nodeVer string, npm bool) (string, error) {
		dir := t.TempDir()
		if goVer != "" {
			stub(dir, "go", goVer)
		}
		if nodeVer != "" {
			stub(dir, "node", nodeVer)
		}
		if npm {
			stub(dir, "npm", "11.0.0")
		}
		for _, tool := range []string{"sh", "bash", "sed"} {
			p, err := exec.LookPath(tool)
			if err != nil {
				testenv.Unavailable(t, "%s is not installed", tool)
			}
			if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("bash", script)
		cmd.Env = []string{"PATH=" + dir}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	tests := []struct {
		name, goVer, nodeVer string
		npm                  bool
		fails                string
	}{
		{"current versions pass", "go1.26.8", "v20.20.2", true, ""},
		{"a newer Go passes", "go1.27.3", "v22.1.0", true, ""},
		{"an old Go is named", "go1.25.4", "v20.20.2", true, "Go 1.26 or later; this is go 1.25.4"},
		{"an old Node is named", "go1.26.8", "v18.19.0", true, "Node.js 20 or later; this is node 18.19.0"},
		{"a missing Go is named", "", "v20.20.2", true, "go is not on PATH"},
		{"a missing npm is named", "go1.26.8", "v20.20.2", false, "npm is not on PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(tt.goVer, tt.nodeVer, tt.npm)
			if tt.fails == "" {
				if err != nil {
					t.Fatalf("%v: %s", err, out)
				}
				return
			}
			if err == nil || !strings.Contains(out, tt.fails) {
				t.Fatalf("%v: %q does not say %q", err, out, tt.fails)
			}
		})
	}
}

// TestMakeHelpNamesEveryTarget: `make help` lists every target a user can
// run (a target the Makefiles add later must be added there too).
func TestMakeHelpNamesEveryTarget(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		testenv.Unavailable(t, "make is not installed")
	}
	root := filepath.Join("..", "..")
	out, err := exec.Command("make", "-s", "-C", root, "help").CombinedOutput()
	if err != nil {
		t.Fatalf("make help: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(root, "mk", "*.mk"))
	files = append(files, filepath.Join(root, "Makefile"))
	internal := map[string]bool{"infra-always": true, "help": true}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			name, _, ok := strings.Cut(line, ":")
			if !ok || name == "" || strings.ContainsAny(name, " \t$%./=#") || internal[name] {
				continue
			}
			if !strings.Contains(string(out), "make "+name) {
				t.Errorf("make help does not name the target %q (%s)", name, filepath.Base(f))
			}
		}
	}
}

// TestReportLeakRevokesTheKeyWithReasonLeaked: a local stack serves its own
// stand-in for GitHub's key list (in GitHub's format), make dev writes its
// signing key beside .dev/local.json (0600), and `keygate-dev report-leak`
// sends a report signed with it that revokes the key with reason leaked.
func TestReportLeakRevokesTheKeyWithReasonLeaked(t *testing.T) {
	s := testenv.Stack(t, testenv.Options{})
	if s.GitHub == nil {
		t.Fatal("the stack serves no key list of its own")
	}
	t.Chdir(t.TempDir())
	if err := writeLocal(s); err != nil {
		t.Fatal(err)
	}
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "leaker", Tier: "pro"})
	key, prefix := c.CreateKey(tok, map[string]any{"name": "pasted into a public repo"})
	const where = "https://github.com/octo/repo/blob/main/.env"

	t.Run("the key list is GitHub's format, served locally", func(t *testing.T) {
		if !strings.HasPrefix(s.App.Config.GitHubKeysURL, "http://127.0.0.1:") {
			t.Fatalf("KEYGATE_GITHUB_KEYS_URL is %s", s.App.Config.GitHubKeysURL)
		}
		resp, err := http.Get(s.App.Config.GitHubKeysURL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var list struct {
			PublicKeys []struct {
				KeyIdentifier string `json:"key_identifier"`
				Key           string `json:"key"`
				IsCurrent     bool   `json:"is_current"`
			} `json:"public_keys"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			t.Fatal(err)
		}
		if len(list.PublicKeys) != 1 || list.PublicKeys[0].KeyIdentifier != s.GitHub.ID || !list.PublicKeys[0].IsCurrent ||
			!strings.HasPrefix(list.PublicKeys[0].Key, "-----BEGIN PUBLIC KEY-----") {
			t.Fatalf("key list %+v", list)
		}
	})
	t.Run("the signing key is written for its owner only", func(t *testing.T) {
		fi, err := os.Stat(devfile.GitHubKeyPath)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", devfile.GitHubKeyPath, fi, err)
		}
	})
	t.Run("a report of a live key is a true positive and revokes it as leaked", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if code := reportLeak(t.Context(), []string{key, where}, &out, &errOut); code != 0 {
			t.Fatalf("exit %d: %s%s", code, out.String(), errOut.String())
		}
		if !strings.Contains(out.String(), "true_positive") || !strings.Contains(out.String(), prefix) || strings.Contains(out.String(), key) {
			t.Fatalf("output %q", out.String())
		}
		r := c.Do("GET", "/v1/api-keys?status=all", testenv.Bearer(tok), nil)
		testenv.Must(t, r, 200, "")
		k := r.Data()["keys"].([]any)[0].(map[string]any)
		if k["prefix"] != prefix || k["status"] != "revoked" || k["revokedReason"] != "leaked" || k["leakedUrl"] != where {
			t.Fatalf("key after the report: %v", k)
		}
		testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 401, "Unauthorized")
	})
	t.Run("reporting it again is a false positive", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if code := reportLeak(t.Context(), []string{key}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "false_positive") {
			t.Fatalf("exit %d: %s%s", code, out.String(), errOut.String())
		}
	})
	t.Run("no key is a usage error", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if code := reportLeak(t.Context(), nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "report-leak <key>") {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
	})
}

// TestChromiumInstall runs scripts/chromium.sh (make chromium, which make
// test runs) with stand-ins for id and apt-get: it says what it installs
// before it does, installs without recommended packages, and as a non-root
// user prints the exact command instead of calling apt-get.
func TestChromiumInstall(t *testing.T) {
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "chromium.sh"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(uid string, apt, chromium bool) (string, string, error) {
		dir := t.TempDir()
		log := filepath.Join(dir, "apt.log")
		write := func(name, body string) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		write("id", `if [ "$1" = -u ]; then echo `+uid+`; else echo someone; fi`)
		if apt {
			write("apt-get", `echo "$DEBIAN_FRONTEND apt-get $*" >> `+log)
		}
		if chromium {
			write("chromium", "true")
		}
		for _, tool := range []string{"sh", "bash", "cat"} {
			p, err := exec.LookPath(tool)
			if err != nil {
				t.Skip(tool, "missing")
			}
			if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("bash", script)
		cmd.Env = []string{"PATH=" + dir}
		out, err := cmd.CombinedOutput()
		calls, _ := os.ReadFile(log)
		return string(out), string(calls), err
	}
	const install = "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium"
	t.Run("present: nothing to do, nothing said", func(t *testing.T) {
		out, calls, err := run("0", true, true)
		if err != nil || out != "" || calls != "" {
			t.Fatalf("%v %q %q", err, out, calls)
		}
	})
	t.Run("as root: says what and why, then installs without recommends", func(t *testing.T) {
		out, calls, err := run("0", true, false)
		if err != nil || !strings.Contains(out, "the browser tests (e2e/browser)") || !strings.Contains(out, install) {
			t.Fatalf("%v %q", err, out)
		}
		if calls != " apt-get update\nnoninteractive apt-get install -y --no-install-recommends chromium\n" {
			t.Fatalf("apt-get calls %q", calls)
		}
	})
	t.Run("not root: prints the exact command, calls nothing", func(t *testing.T) {
		out, calls, err := run("1000", true, false)
		if err == nil || calls != "" || !strings.Contains(out, "sudo apt-get update && sudo "+install) || !strings.Contains(out, "KEYGATE_CHROMIUM=") {
			t.Fatalf("%v %q %q", err, out, calls)
		}
	})
	t.Run("no apt-get: says to install one and name it", func(t *testing.T) {
		out, _, err := run("0", false, false)
		if err == nil || !strings.Contains(out, "KEYGATE_CHROMIUM=/path/to/chromium make test") {
			t.Fatalf("%v %q", err, out)
		}
	})
}
