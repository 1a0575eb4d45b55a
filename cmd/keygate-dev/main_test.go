package main

import (
	"encoding/json"
	"net"
	"os/exec"
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
		t.Skip("curl is not installed")
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
