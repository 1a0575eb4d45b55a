package browser

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// events is the number of records the Activity list shows.
func (tb *tab) events() int {
	tb.t.Helper()
	return eval[int](tb, `document.querySelectorAll("ol.events > li.event").length`)
}

// eventText is the sentence and the line under it of the first record of
// action on prefix, or "" when the list has none.
func (tb *tab) eventText(action, prefix string) string {
	tb.t.Helper()
	sel := fmt.Sprintf(`li.event[data-action=%q][data-prefix=%q]`, action, prefix)
	return strings.TrimSpace(eval[string](tb, `document.querySelector(`+jsString(sel)+`)?.innerText ?? ""`))
}

// TestActivity: a key's life through the API reads, in "My activity", as
// sentences newest first, each with where it came from and with what; older
// records come a page at a time, with the focus on the first one added.
func TestActivity(t *testing.T) {
	e := browserEnv(t)
	_, id := signInTokens(t, e, "pro@example.com")
	suffix := time.Now().Format("150405.000")

	// More than a page of older records: keys made and revoked.
	for i := range 11 {
		status, _, m := callAPI(t, e, "POST", "/v1/api-keys", id, fmt.Sprintf(`{"name":"Filler %d %s"}`, i, suffix))
		if status != 201 {
			t.Fatalf("create filler: %d %v", status, m)
		}
		prefix := m["data"].(map[string]any)["prefix"].(string)
		if status, _, m := callAPI(t, e, "DELETE", "/v1/api-keys/"+prefix, id, ""); status != 200 {
			t.Fatalf("revoke filler: %d %v", status, m)
		}
	}

	// The key whose life the list tells.
	name := "Activity CI " + suffix
	status, _, m := callAPI(t, e, "POST", "/v1/api-keys", id, `{"name":`+jsString(name)+`,"dailyLimit":250}`)
	if status != 201 {
		t.Fatalf("create: %d %v", status, m)
	}
	prefix := m["data"].(map[string]any)["prefix"].(string)
	for _, patch := range []string{`{"dailyLimit":5}`, `{"scopes":["reports:read"],"allowedIps":["203.0.113.0/24"]}`} {
		if status, _, m := callAPI(t, e, "PATCH", "/v1/api-keys/"+prefix, id, patch); status != 200 {
			t.Fatalf("PATCH %s: %d %v", patch, status, m)
		}
	}
	if status, _, m := callAPI(t, e, "DELETE", "/v1/api-keys/"+prefix, id, ""); status != 200 {
		t.Fatalf("revoke: %d %v", status, m)
	}

	tb := newTab(t, e)
	tb.signIn("pro@example.com")
	tb.do(chromedp.Click(chromedp.CSS(`[data-testid=activity-tab]`)))
	tb.waitText(`#activity-title`, "Activity")
	// Newest first: the revocation, then the changes, then the creation.
	first := tb.waitText(`ol.events > li.event:first-child [data-testid=event-text]`, "You revoked "+name+".")
	for _, want := range []struct{ action, text string }{
		{"key.updated", "You lowered the daily limit of " + name + " from 250 to 5."},
		{"key.updated", "You changed the scopes of " + name + " from every scope to reports:read and limited it to 203.0.113.0/24 (it was usable from anywhere)."},
		{"key.created", "You created " + name + " with a daily limit of 250."},
	} {
		found := eval[[]string](tb, fmt.Sprintf(`[...document.querySelectorAll('li.event[data-action=%q][data-prefix=%q] [data-testid=event-text]')].map(p => p.innerText.trim())`, want.action, prefix))
		if !slices.Contains(found, want.text) {
			t.Errorf("no record reads %q; the %s records of %s read %q", want.text, want.action, prefix, found)
		}
	}
	if order := eval[[]string](tb, fmt.Sprintf(`[...document.querySelectorAll('li.event[data-prefix=%q]')].map(li => li.dataset.action)`, prefix)); strings.Join(order, " ") != "key.revoked key.updated key.updated key.created" {
		t.Errorf("the key's records in the order %q, want newest first (revoked, the two updates, created); the first reads %q", order, first)
	}
	// Where and with what, under the sentence.
	line := tb.eventText("key.revoked", prefix)
	for _, want := range []string{"from 127.0.0.1", "with Go-http-client/1.1", prefix} {
		if !strings.Contains(line, want) {
			t.Errorf("the revocation's record %q does not show %q", line, want)
		}
	}
	tb.checkLabels()

	// Paged: one page, then the older ones below it, the focus on the first added.
	if n := tb.events(); n != 20 {
		t.Fatalf("the first page shows %d records, want 20", n)
	}
	tb.do(chromedp.Click(chromedp.CSS(`[data-testid=older]`)))
	deadline := time.Now().Add(20 * time.Second)
	for tb.events() <= 20 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := tb.events(); n <= 20 {
		t.Fatalf("after Show older activity the list has %d records", n)
	}
	tb.waitFocus(`ol.events > li.event:nth-child(21)`)
	ids := eval[[]string](tb, `[...document.querySelectorAll("ol.events > li.event")].map(li => li.id)`)
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("record %s is shown twice", id)
		}
		seen[id] = true
	}
}

// TestWorkspaceActivity: the workspace's activity names each member by the
// email their sign-in carried when they made a workspace key ("you" for the
// reader), and a member the API names only by id as another member (the id
// in the tooltip).
func TestWorkspaceActivity(t *testing.T) {
	e := browserEnv(t)
	_, aliceID := signInTokens(t, e, "alice@example.com")
	_, bobID := signInTokens(t, e, "bob@example.com")
	suffix := time.Now().Format("150405.000")
	name := "Team deploy " + suffix
	k := createWorkspaceKey(t, e, aliceID, name)
	createWorkspaceKey(t, e, bobID, "Bob's own "+suffix)
	if status, _, m := callAPI(t, e, "DELETE", "/api/v1/workspaces/acme/api-keys/"+k["id"].(string), bobID, ""); status != 200 {
		t.Fatalf("bob revokes: %d %v", status, m)
	}
	prefix := k["key_prefix"].(string)
	// A member whose token carried no email, and who made no key.
	claims := tokenClaims(t, bobID)
	delete(claims, "email")
	claims["sub"] = "5e1c0b7a-2d3f-4e5a-9b8c-7d6e5f4a3b2c"
	quiet := createWorkspaceKey(t, e, aliceID, "Quiet "+suffix)
	if status, _, m := callAPI(t, e, "DELETE", "/api/v1/workspaces/acme/api-keys/"+quiet["id"].(string), signCognitoLocal(t, claims), ""); status != 200 {
		t.Fatalf("the member without an email revokes: %d %v", status, m)
	}

	tb := newTab(t, e)
	tb.signIn("alice@example.com")
	tb.do(chromedp.Click(chromedp.CSS(`[data-testid=workspace-activity-tab]`)))
	tb.waitText(`#activity-title`, "Workspace acme activity")
	tb.waitText(`ol.events > li.event:first-child [data-testid=event-text]`, "Another member (5e1c0b7a…) revoked Quiet "+suffix+".")
	if title := eval[string](tb, `document.querySelector("ol.events > li.event:first-child [data-testid=event-text]").title`); !strings.Contains(title, "5e1c0b7a-2d3f-4e5a-9b8c-7d6e5f4a3b2c") {
		t.Errorf("the member's id is not in the tooltip: %q", title)
	}
	if got := tb.eventText("key.revoked", prefix); !strings.HasPrefix(got, "bob@example.com revoked "+name+".") {
		t.Errorf("bob's revocation reads %q", got)
	}
	if got := tb.eventText("key.created", prefix); !strings.HasPrefix(got, "You created "+name) {
		t.Errorf("the creation reads %q, want it to say alice (the reader) made it", got)
	}
	// Bob reads the same records with the names the other way round.
	bob := newTab(t, e)
	bob.signIn("bob@example.com")
	bob.do(chromedp.Click(chromedp.CSS(`[data-testid=workspace-activity-tab]`)))
	bob.waitText(`#activity-title`, "Workspace acme activity")
	bob.waitText(`ol.events > li.event:first-child [data-testid=event-text]`, "revoked Quiet "+suffix+".")
	if got := bob.eventText("key.revoked", prefix); !strings.HasPrefix(got, "You revoked "+name+".") {
		t.Errorf("bob reads his revocation as %q", got)
	}
	if got := bob.eventText("key.created", prefix); !strings.HasPrefix(got, "alice@example.com created "+name) {
		t.Errorf("bob reads the creation as %q", got)
	}
}
