package main

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/local/webapp"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestTryItWorksAsPasted runs the printed tour in sh, line by line as a user
// pastes it, with the key the first line created pasted where it says so.
func TestTryItWorksAsPasted(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		testenv.Unavailable(t, "curl is not installed")
	}
	s := testenv.Stack(t, testenv.Options{})
	tok := testenv.Token(t, s, devissuer.Token{Sub: "tour", Tier: "pro"})
	lines := strings.Split(strings.TrimSpace(tryIt(s.URL)), "\n")[1:]
	var script []string
	var key string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "export KEY=") {
			l = "export KEY=" + key
		}
		script = append(script, l)
		if key == "" && strings.Contains(l, "-X POST") && strings.HasSuffix(l, "'{\"name\":\"CI Pipeline\",\"dailyLimit\":1000}'") {
			c := exec.Command("sh", "-c", l)
			c.Env = append(c.Environ(), "TOKEN="+tok)
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
	cmd := exec.Command("sh", "-ec", strings.Join(script, "\n"))
	cmd.Env = append(cmd.Environ(), "TOKEN="+tok)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the tour failed in sh: %v\n%s", err, out)
	}
	for _, want := range []string{"X-RateLimit-Limit: 1000", `"dailyLimit":5`, `"rotatedFrom":"` + key[:17] + `"`, `"message":"API key revoked"`} {
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
