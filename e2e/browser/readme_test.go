package browser

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeTour is the shell block of the README between
// <!-- readme-NAME:begin --> and <!-- readme-NAME:end -->, one command a
// line (backslash continuations joined).
func readmeTour(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- readme-"+name+":begin -->\n```sh\n")
	block, _, ok2 := strings.Cut(rest, "```\n<!-- readme-"+name+":end -->")
	if !ok || !ok2 {
		t.Fatalf("README.md has no readme-%s block", name)
	}
	block = strings.ReplaceAll(block, "\\\n", " ")
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

var assignment = regexp.MustCompile(`^(?:export )?([A-Z_]+)=(.*)$`)

// runTour runs the lines as a user pastes them into a shell, against the
// stack (make dev's addresses replaced by the test stack's). A placeholder
// ("export KEY=csk_live_..." or "export KEY_ID=...") gets what the user
// would paste: the given field of the last JSON answer. It returns every
// line's output.
func runTour(t *testing.T, e *env, lines []string, placeholders map[string]string) string {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		unavailable(t, err)
	}
	api := strings.TrimPrefix(e.stack.API.URL, "http://")
	issuer := strings.TrimPrefix(e.stack.API.Issuer.URL, "http://")
	vars := map[string]string{}
	var last map[string]any
	var all strings.Builder
	for _, l := range lines {
		if strings.Contains(l, " #") {
			t.Errorf("a trailing comment (zsh takes it as arguments at its prompt): %s", l)
		}
		l = strings.ReplaceAll(strings.ReplaceAll(l, "localhost:8080", api), "localhost:8081", issuer)
		name := ""
		if m := assignment.FindStringSubmatch(l); m != nil {
			name = m[1]
			if field, ok := placeholders[name]; ok && strings.HasSuffix(m[2], "...") {
				v, _ := last[field].(string)
				if d, ok := last["data"].(map[string]any); ok && v == "" {
					v, _ = d[field].(string)
				}
				if v == "" {
					t.Fatalf("%s: the answer before has no %q to paste: %v", l, field, last)
				}
				vars[name] = v
				continue
			}
			l += `; printf '%s' "$` + name + `"`
		}
		cmd := exec.Command("sh", "-ec", l)
		cmd.Env = os.Environ()
		for k, v := range vars {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr // curl's progress meter, without -s
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s%s", l, err, out, stderr.String())
		}
		if name != "" {
			vars[name] = string(out)
			continue
		}
		all.WriteString(string(out) + "\n")
		var m map[string]any
		if json.Unmarshal(out, &m) == nil {
			last = m
		}
	}
	return all.String()
}

// TestReadmeToursRunAsPrinted: the README's curl tours work as pasted against
// the stack make dev runs, with the demo users' tokens from /token?user=, and
// what they make is the demo users' own.
func TestReadmeToursRunAsPrinted(t *testing.T) {
	e := stack(t)
	out := runTour(t, e, readmeTour(t, "tour"), map[string]string{"KEY": "key"})
	for _, want := range []string{"X-RateLimit-Limit: ", `"title":"First report"`, `"reports":[{"id":"rpt_`, `"dailyLimit":100`, `"rotatedFrom":"csk_live_`, `"message":"API key revoked"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the /v1 tour's output lacks %s:\n%s", want, out)
		}
	}
	out = runTour(t, e, readmeTour(t, "workspace"), map[string]string{"KEY_ID": "id"})
	for _, want := range []string{`"workspace_id":"acme"`, `"status":"revoked"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the workspace tour's output lacks %s:\n%s", want, out)
		}
	}
	alice, ok := e.stack.User("alice@example.com")
	if !ok || !strings.Contains(out, `"created_by":"`+alice.Sub+`"`) {
		t.Errorf("the workspace key was not created by alice@example.com's sub %q:\n%s", alice.Sub, out)
	}
}
