package browser

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keygate/keygate/local/webapp"
	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/keys"
)

// TestNetworkRulesMatchTheAPI: the console checks allowed networks in the
// browser (console/src/networks.ts) with the API's rules (keys.ParseAllowedIPs
// over net/netip). Both run over the same inputs, hand-picked edge cases and
// generated ones: each entry is accepted by both with the same canonical
// form, or refused by both for the same reason; lists are refused by both
// for too many entries or a duplicate. The API's 400 for each refused input,
// run through the console's fieldError, reads exactly as the browser's own
// message; and the API's messages about scopes come out in the form's words.
func TestNetworkRulesMatchTheAPI(t *testing.T) {
	run := consoleModules(t)

	entries := append(networkEdgeCases(), generatedNetworks(4000)...)
	lists := [][]string{
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"198.51.100.7", "198.51.100.7/32"},
		{"2001:db8::/32", "2001:DB8:0::/32"},
		{"::1", "0:0:0:0:0:0:0:1"},
		{"1.2.3.4", "::1.2.3.4"},
		{"203.0.113.0/24", "2001:db8::/32", "198.51.100.7"},
	}
	for _, n := range []int{20, 21} {
		var l []string
		for i := range n {
			l = append(l, fmt.Sprintf("10.%d.0.0/16", i))
		}
		lists = append(lists, l)
	}

	type goResult struct {
		Canonical string
		Fault     string
		Message   string // the API's message
	}
	goEntry := func(s string) goResult {
		c, err := keys.ParseAllowedIPs([]string{s}, keys.CamelCase)
		if err == nil {
			return goResult{Canonical: c}
		}
		return goResult{Fault: faultOf(err.Error()), Message: apiMessage(t, err)}
	}
	var apiMessages []string
	for _, s := range entries {
		if r := goEntry(s); r.Message != "" {
			apiMessages = append(apiMessages, r.Message)
		}
	}
	for _, l := range lists {
		if _, err := keys.ParseAllowedIPs(l, keys.CamelCase); err != nil {
			apiMessages = append(apiMessages, apiMessage(t, err))
		}
	}
	known := scopeSet{"reports:read": true, "usage:read": true}
	var scopeMessages []string
	for _, in := range [][]string{{}, {"*", "reports:read"}, {"reports:delete"}, {"usage:read", "usage:read"}} {
		_, err := keys.ParseScopes(in, known, keys.SnakeCase)
		if err == nil {
			t.Fatalf("ParseScopes(%q) passed", in)
		}
		scopeMessages = append(scopeMessages, apiMessage(t, err))
	}

	var out struct {
		Entries []struct {
			OK        bool
			Canonical string
			Fault     string
		}
		// Lists: the canonical entries, or the message; Single: the message for one entry.
		Lists    []listResult
		Single   []string
		Messages []*struct{ Field, Message string }
		Scopes   []*struct{ Field, Message string }
	}
	joined := make([]string, len(lists))
	for i, l := range lists {
		joined[i] = strings.Join(l, "\n")
	}
	run(map[string]any{"entries": entries, "lists": joined, "messages": apiMessages, "scopes": scopeMessages}, &out)

	disagree := 0
	browserMessage := map[string]string{}
	for i, s := range entries {
		g, b := goEntry(s), out.Entries[i]
		if (g.Fault == "") != b.OK || g.Canonical != b.Canonical || g.Fault != b.Fault {
			disagree++
			if disagree <= 20 {
				t.Errorf("%q: the API says canonical %q fault %q, the browser canonical %q fault %q", s, g.Canonical, g.Fault, b.Canonical, b.Fault)
			}
		}
		if g.Message != "" {
			browserMessage[g.Message] = out.Single[i]
		}
	}
	if disagree > 0 {
		t.Errorf("%d of %d entries judged differently", disagree, len(entries))
	}
	for i, l := range lists {
		c, err := keys.ParseAllowedIPs(l, keys.CamelCase)
		b := out.Lists[i]
		switch {
		case err == nil && strings.Join(b.Entries, ",") != c:
			t.Errorf("list %q: the API takes it as %q, the browser as %q (%s)", l, c, b.Entries, b.Message)
		case err != nil && b.Message == "":
			t.Errorf("list %q: the API refuses it (%v), the browser takes it", l, err)
		case err != nil:
			browserMessage[apiMessage(t, err)] = b.Message
		}
	}

	// The API's message, shown next to the field, says what the browser says.
	for i, m := range apiMessages {
		got := out.Messages[i]
		want := browserMessage[m]
		if got == nil || got.Field != "allowedIps" {
			t.Errorf("%q is not shown at the networks field: %+v", m, got)
			continue
		}
		if !printableASCII(m) {
			continue // Go's %q and JavaScript's strings quote other characters differently
		}
		// The browser names the line of a list, and a duplicate's first spelling.
		want = lineRef.ReplaceAllString(want, "")
		if i := strings.Index(want, ` (as "`); i >= 0 {
			want = want[:i] + "."
		}
		if got.Message != want {
			t.Errorf("the API's %q is shown as %q; the browser says %q", m, got.Message, want)
		}
	}
	wantScopes := []string{
		"Choose at least one scope, or Full access.",
		"Choose either Full access or some scopes, not both.",
		`"reports:delete" is not a scope of this API any more; reload the page to see its scopes.`,
		`"usage:read" is chosen twice.`,
	}
	for i, m := range scopeMessages {
		if got := out.Scopes[i]; got == nil || got.Field != "scopes" || got.Message != wantScopes[i] {
			t.Errorf("the API's %q is shown as %+v, want %q at the scopes", m, got, wantScopes[i])
		}
	}
	accepted := 0
	for _, b := range out.Entries {
		if b.OK {
			accepted++
		}
	}
	t.Logf("compared %d entries (%d valid) and %d lists; %d API messages mapped", len(entries), accepted, len(lists), len(apiMessages)+len(scopeMessages))
}

var lineRef = regexp.MustCompile(`^Line \d+: `)

type listResult struct {
	Entries []string
	Message string
}

type scopeSet map[string]bool

func (s scopeSet) HasScope(name string) bool { return s[name] }

// apiMessage is the message of the API's error, as a client reads it.
func apiMessage(t *testing.T, err error) string {
	t.Helper()
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != apierr.BadRequest {
		t.Fatalf("%v is not a BadRequest", err)
	}
	return ae.Message
}

// faultOf names the reason in the API's message as networks.ts names it.
func faultOf(msg string) string {
	switch {
	case strings.Contains(msg, "has a zone"):
		return "zone"
	case strings.Contains(msg, "IPv4-mapped"):
		return "mapped"
	case strings.Contains(msg, "host bits"):
		return "hostBits"
	}
	return "invalid"
}

func printableASCII(s string) bool {
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return false
		}
	}
	return true
}

// consoleModules bundles networks.ts and formerrors.ts for Node with the
// console's esbuild and returns a function that runs them over an input.
func consoleModules(t *testing.T) func(in any, out any) {
	t.Helper()
	dist, err := webapp.ConsoleDir()
	if err != nil {
		unavailable(t, err)
	}
	src := filepath.Join(filepath.Dir(dist), "src")
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, err)
	}
	esbuild := filepath.Join(filepath.Dir(dist), "node_modules", ".bin", "esbuild")
	if _, err := os.Stat(esbuild); err != nil {
		unavailable(t, err)
	}
	dir := t.TempDir()
	entry := filepath.Join(dir, "check.ts")
	driver := fmt.Sprintf(`import { readFileSync } from "node:fs";
import { networkFaultMessage, parseNetwork, parseNetworks } from %q;
import { fieldError } from %q;
import { ApiError } from %q;
const input = JSON.parse(readFileSync(0, "utf8"));
const list = (text: string) => {
  const r = parseNetworks(text);
  return r.ok ? { Entries: r.entries.map((e) => e.canonical), Message: "" } : { Entries: null, Message: r.message };
};
const shown = (m: string) => {
  const f = fieldError(new ApiError(400, "BadRequest", m));
  return f && { Field: f.field, Message: f.message };
};
process.stdout.write(JSON.stringify({
  Entries: input.entries.map((s: string) => {
    const p = parseNetwork(s);
    return p.ok ? { OK: true, Canonical: p.canonical, Fault: "" } : { OK: false, Canonical: "", Fault: p.fault };
  }),
  Single: input.entries.map((s: string) => {
    const p = parseNetwork(s);
    return p.ok ? "" : networkFaultMessage(s, p.fault, p.masked);
  }),
  Lists: input.lists.map(list),
  Messages: input.messages.map(shown),
  Scopes: input.scopes.map(shown),
}));
`, filepath.Join(src, "networks.ts"), filepath.Join(src, "formerrors.ts"), filepath.Join(src, "api.ts"))
	if err := os.WriteFile(entry, []byte(driver), 0o644); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "check.mjs")
	if out, err := exec.Command(esbuild, entry, "--bundle", "--platform=node", "--format=esm", "--log-level=warning", "--outfile="+bundle).CombinedOutput(); err != nil {
		t.Fatalf("esbuild: %v\n%s", err, out)
	}
	return func(in any, out any) {
		t.Helper()
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(node, bundle)
		cmd.Stdin = strings.NewReader(string(b))
		res, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("node: %v\n%s", err, ee.Stderr)
			}
			t.Fatal(err)
		}
		if err := json.Unmarshal(res, out); err != nil {
			t.Fatalf("node's answer: %v", err)
		}
	}
}

// networkEdgeCases are the inputs where address parsers usually differ.
func networkEdgeCases() []string {
	return []string{
		"", " ", "203.0.113.0/24", "198.51.100.7", "198.51.100.7/32", "0.0.0.0/0", "255.255.255.255", "256.1.1.1",
		"01.2.3.4", "1.2.3.04", "0.0.0.0", "00.0.0.0", "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4/",
		"1.2.3.4/33", "1.2.3.4/032", "10.0.0.0/08", "10.0.0.0/+8", "10.0.0.0/-8", "10.0.0.0/ 8", "10.0.0.1/8",
		"10.0.0.0/8/8", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4\n", "１.2.3.4", "1.2.3.4%eth0", "0x7f.0.0.1", "127.1",
		"2001:db8::/32", "2001:DB8::/32", "2001:0db8:0000::/48", "2001:db8::1/32", "::", "::/0", "::/128", "::1",
		"1::", "1::/16", ":1", "1:", ":::", "1:::2", "1::2::3", "::ffff:1.2.3.4", "::ffff:0:0/96", "::ffff:1.2.3.0/120",
		"::1.2.3.4", "64:ff9b::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "1:2:3:4:5:1.2.3.4",
		"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7",
		"::1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7", "12345::", "0000:0000::", "00000::", "fe80::1%eth0", "fe80::%",
		"2001:db8::/129", "2001:db8::/64", "2001:db8:0:0:1::/64", "2001:db8:0:0:0:0:2:1", "2001:db8::1:0:0:1",
		"0:0:1:0:0:1:0:0", "1:0:0:2:0:0:0:3", "1:0:0:0:2:0:0:3", "0:0:0:0:0:0:0:0/1", "8000::/1", "8000::/0",
		"::1.2.3", "::1.2.3.4.5", "::01.2.3.4", "::a.b.c.d", "1.2.3.4::", "g::", "::g", "[::1]", "::1/64",
		"abcd:ef01:2345:6789:abcd:ef01:2345:6789/128", "ABCD:EF01:2345:6789:ABCD:EF01:2345:6789", "1:2:3:4:5:6:7:8/127",
		"2001:0db8:0000:0000:0000:0000:0000:0001/64", "2001:0db8:0000:0000:0000:0000:0000:0000/64/",
		strings.Repeat("1", 50), "\"", "a\\b", "10.0.0.0/8,10.0.0.0/9",
	}
}

// generatedNetworks are n inputs near valid ones: addresses and prefixes of
// both families, mutated by a character inserted, dropped or replaced.
func generatedNetworks(n int) []string {
	rng := rand.New(rand.NewPCG(17, 2026))
	hex := func() string {
		switch rng.IntN(4) {
		case 0:
			return "0"
		case 1:
			return fmt.Sprintf("%x", rng.IntN(16))
		case 2:
			return fmt.Sprintf("%X", rng.IntN(0x10000))
		}
		return fmt.Sprintf("%04x", rng.IntN(0x10000))
	}
	v4 := func() string {
		octet := func() string {
			if rng.IntN(10) == 0 {
				return fmt.Sprintf("0%d", rng.IntN(10))
			}
			return fmt.Sprint([]int{0, 1, 10, 127, 192, 255, 256, rng.IntN(300)}[rng.IntN(8)])
		}
		return octet() + "." + octet() + "." + octet() + "." + octet()
	}
	v6 := func() string {
		groups := make([]string, 8)
		for i := range groups {
			groups[i] = hex()
			if rng.IntN(3) == 0 {
				groups[i] = "0"
			}
		}
		k := rng.IntN(9)
		s := strings.Join(groups[:k], ":")
		switch rng.IntN(3) {
		case 0:
			skip := rng.IntN(9-k) + k
			s += "::" + strings.Join(groups[skip:], ":")
		case 1:
			s = strings.Join(groups, ":")
		}
		if rng.IntN(6) == 0 {
			s += ":" + v4()
		}
		return s
	}
	mutate := func(s string) string {
		const alphabet = "0123456789abcdefABCDEF.:/%x -"
		if s == "" {
			return s
		}
		i := rng.IntN(len(s))
		c := string(alphabet[rng.IntN(len(alphabet))])
		switch rng.IntN(3) {
		case 0:
			return s[:i] + c + s[i:]
		case 1:
			return s[:i] + s[i+1:]
		}
		return s[:i] + c + s[i+1:]
	}
	out := make([]string, 0, n)
	for range n {
		var s string
		if rng.IntN(2) == 0 {
			s = v4()
			if rng.IntN(2) == 0 {
				s += "/" + fmt.Sprint(rng.IntN(34))
			}
		} else {
			s = v6()
			if rng.IntN(2) == 0 {
				s += "/" + fmt.Sprint(rng.IntN(130))
			}
		}
		if rng.IntN(3) == 0 {
			s = mutate(s)
		}
		out = append(out, s)
	}
	return out
}
