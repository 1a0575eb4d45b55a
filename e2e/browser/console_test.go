package browser

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keygate/keygate/local/webapp"
)

var keyPattern = regexp.MustCompile(`^csk_live_[0-9a-f]{32}$`)

// TestProUserKeyLifecycle: sign in as the Pro user, create a key, read it from
// the page, use it over HTTP, see "used today" change after a reload, rename
// and lower its limit, revoke it and see its status change.
func TestProUserKeyLifecycle(t *testing.T) {
	e := browserEnv(t)
	tb := newTab(t, e)
	tb.signIn("pro@example.com")
	tb.waitText(`[data-testid=tier]`, "Pro")

	key := tb.createKey("Browser lifecycle", "5")
	if !keyPattern.MatchString(key) {
		t.Fatalf("the page showed %q, not a key", key)
	}
	prefix := key[:17]
	c := card(prefix)
	tb.waitText(c+" .badge", "Active")
	tb.waitText(c+" [data-testid=used-today]", "0 of 5")
	if got := tb.text(c + " .prefix"); got != prefix {
		t.Errorf("card shows prefix %q, want %q", got, prefix)
	}
	if eval[bool](tb, `document.documentElement.outerHTML.includes(`+jsString(key)+`)`) {
		t.Fatal("the full key is still in the page after the dialog closed")
	}

	for i := range 2 {
		status, h, _ := callAPI(t, e, "GET", "/v1/usage", key, "")
		if status != 200 || h.Get("X-RateLimit-Limit") != "5" {
			t.Fatalf("usage call %d: %d %v", i, status, h)
		}
	}
	tb.do(chromedp.Reload())
	tb.waitText(c+" [data-testid=used-today]", "2 of 5")
	tb.waitText(c+" dd", "") // the card is back after the reload

	tb.clickKeyAction(prefix, "Edit")
	tb.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=edit-dialog] input[name=name]`)))
	tb.setField(`[data-testid=edit-dialog] input[name=name]`, "Browser lifecycle (renamed)")
	tb.setField(`[data-testid=edit-dialog] input[name=dailyLimit]`, "3")
	tb.do(chromedp.Click(chromedp.CSS(`[data-testid=edit-dialog] button[type=submit]`)))
	tb.waitGone(`[data-testid=edit-dialog]`)
	tb.waitText(c+" .key-name", "Browser lifecycle (renamed)")
	tb.waitText(c+" [data-testid=daily-limit]", "3")
	tb.waitText(c+" [data-testid=used-today]", "2 of 3")

	tb.clickKeyAction(prefix, "Revoke")
	tb.waitText(`[data-testid=revoke-dialog]`, "cannot be undone")
	tb.do(chromedp.Click(chromedp.CSS(`[data-testid=revoke-dialog] button[type=submit]`)))
	tb.waitGone(`[data-testid=revoke-dialog]`)
	tb.waitText(c+" .badge", "Revoked")
	if tb.exists(c + " button.danger-outline") {
		t.Error("a revoked key still offers Revoke")
	}
	if status, _, _ := callAPI(t, e, "GET", "/v1/usage", key, ""); status != 401 {
		t.Errorf("revoked key: %d, want 401", status)
	}
}

// TestProUserRotatesKey: rotate with no grace period; the successor is shown
// once, works, and the old key stops.
func TestProUserRotatesKey(t *testing.T) {
	e := browserEnv(t)
	tb := newTab(t, e)
	tb.signIn("pro@example.com")
	old := tb.createKey("Browser rotation", "")
	prefix := old[:17]
	tb.waitText(card(prefix)+" .badge", "Active")

	tb.clickKeyAction(prefix, "Rotate")
	tb.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=rotate-dialog] select[name=grace]`)))
	tb.setField(`[data-testid=rotate-dialog] select[name=grace]`, "0")
	tb.do(chromedp.Click(chromedp.CSS(`[data-testid=rotate-dialog] button[type=submit]`)))
	tb.waitText(`[data-testid=shown-once]`, "has stopped working")
	successor := tb.readShownKey()
	if !keyPattern.MatchString(successor) || successor == old {
		t.Fatalf("successor %q (old %q)", successor, old)
	}
	tb.waitText(card(successor[:17])+" .badge", "Active")
	tb.waitText(card(successor[:17])+" .key-name", "Browser rotation")
	tb.waitText(card(prefix), "replaced by")
	if got := tb.text(card(prefix) + " .badge"); got == "Active" {
		t.Errorf("old key still shown as %s after a rotation with no grace", got)
	}
	if status, _, _ := callAPI(t, e, "GET", "/v1/usage", successor, ""); status != 200 {
		t.Errorf("successor: %d, want 200", status)
	}
	if status, _, _ := callAPI(t, e, "GET", "/v1/usage", old, ""); status != 401 {
		t.Errorf("old key after rotation with no grace: %d, want 401", status)
	}
}

// TestFreeUserSeesWhyNoKeys: a Free user sees the upgrade message and cannot
// open the create dialog.
func TestFreeUserSeesWhyNoKeys(t *testing.T) {
	e := browserEnv(t)
	tb := newTab(t, e)
	tb.signIn("free@example.com")
	tb.waitText(`[data-testid=tier]`, "Free")
	msg := tb.waitText(`[data-testid=upgrade]`, "API keys need the Pro tier or above")
	if !strings.Contains(msg, "revoke") {
		t.Errorf("upgrade message %q does not say what a free user can still do", msg)
	}
	if !eval[bool](tb, `[...document.querySelectorAll("button")].find(b => b.textContent.trim() === "Create API key").disabled`) {
		t.Error("Create API key is enabled for a Free user")
	}
	// Listing is open to every tier: the list loads, with no error.
	tb.waitText(`.keys`, "No API keys yet")
	if tb.exists(`.keys [role=alert]`) {
		t.Errorf("a Free user's list shows an error: %q", tb.text(`.keys [role=alert]`))
	}
}

// TestFormErrorsInFormWords: the create form states the tier's cap before
// the user reaches it and refuses a limit above it next to the field; an API
// error about a field shows next to that field in the form's words (the API
// says "Field 'name' …"); an error about no field shows the envelope's
// message as the API wrote it.
func TestFormErrorsInFormWords(t *testing.T) {
	e := browserEnv(t)
	_, id := signInTokens(t, e, "pro@example.com")
	tb := newTab(t, e)
	tb.signIn("pro@example.com")
	dlg := `[data-testid=create-dialog] `
	tb.do(
		chromedp.Click(button("Create API key")),
		chromedp.WaitVisible(chromedp.CSS(dlg+`input[name=name]`)),
	)
	// The cap is the stack's KEYGATE_TIER_CAPS, through config.json.
	tb.waitText(`[data-testid=create-dialog]`, "up to 9,000 on your Pro plan")

	// A limit above the cap: refused next to its field, before any request.
	tb.do(
		chromedp.SendKeys(chromedp.CSS(dlg+`input[name=name]`), "Too big"),
		chromedp.SendKeys(chromedp.CSS(dlg+`input[name=dailyLimit]`), "20000000"),
		chromedp.Click(chromedp.CSS(dlg+`button[type=submit]`)),
	)
	msg := tb.waitText(dlg+`[data-testid=dailyLimit-error]`, "The daily limit may be at most 9,000 on your Pro plan")
	if strings.Contains(msg, "dailyLimit") {
		t.Errorf("the form speaks the API's field name: %q", msg)
	}
	tb.waitFocus(dlg + `input[name=dailyLimit]`)
	if got := eval[string](tb, `document.querySelector("[data-testid=create-dialog] input[name=dailyLimit]").getAttribute("aria-invalid")`); got != "true" {
		t.Errorf("aria-invalid = %q on the daily limit", got)
	}
	if tb.exists(dlg + `[role=alert]`) {
		t.Errorf("a field's error is also in the banner: %q", tb.text(dlg+`[role=alert]`))
	}

	// A name of one invisible character: the browser lets it through, the
	// API refuses it naming 'name'; the form says it next to the name.
	status, _, m := callAPI(t, e, "POST", "/v1/api-keys", id, `{"name":"\u200b"}`)
	if status != 400 || !strings.HasPrefix(errMessage(m), "Field 'name' ") {
		t.Fatalf("the API answered %d %v", status, m)
	}
	tb.setField(dlg+`input[name=dailyLimit]`, "")
	tb.setField(dlg+`input[name=name]`, "\u200b")
	tb.do(chromedp.Click(chromedp.CSS(dlg + `button[type=submit]`)))
	want := "The name " + strings.TrimPrefix(errMessage(m), "Field 'name' ")
	if got := tb.waitText(dlg+`[data-testid=name-error]`, "The name "); got != want {
		t.Errorf("next to the name: %q, want %q", got, want)
	}
	if tb.exists(dlg + `[data-testid=dailyLimit-error]`) {
		t.Error("the daily limit still shows its earlier error")
	}
	tb.do(chromedp.KeyEvent("\x1b"))
	tb.waitGone(`[data-testid=create-dialog]`)

	// An error about no field of the form: rotating a key revoked meanwhile
	// (in another tab, say) is 404, shown as the API wrote it.
	key := tb.createKey("Revoked meanwhile", "")
	tb.clickKeyAction(key[:17], "Rotate")
	tb.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=rotate-dialog] select[name=grace]`)))
	if status, _, m := callAPI(t, e, "DELETE", "/v1/api-keys/"+key[:17], id, ""); status != 200 {
		t.Fatalf("revoke: %d %v", status, m)
	}
	status, _, m = callAPI(t, e, "POST", "/v1/api-keys/"+key[:17]+"/rotate", id, `{"gracePeriodSeconds":0}`)
	want = errMessage(m)
	if status != 404 || want == "" {
		t.Fatalf("rotating a revoked key: %d %v", status, m)
	}
	tb.do(chromedp.Click(chromedp.CSS(`[data-testid=rotate-dialog] button[type=submit]`)))
	if got := tb.waitText(`[data-testid=rotate-dialog] [role=alert]`, want); got != want {
		t.Errorf("the page shows %q, the API said %q", got, want)
	}
}

// TestFormsShowDeploymentLimits: the create and edit forms offer the API's
// settings (the stack's config.json, local mode's from its environment), not
// numbers of their own: the daily limit a key gets when none is given, and
// the latest expiry date.
func TestFormsShowDeploymentLimits(t *testing.T) {
	e := browserEnv(t)
	if c := e.stack.Console; c.DefaultDailyLimit != testDefaultDailyLimit || c.MaxKeyLifetimeDays != testMaxKeyLifetimeDays {
		t.Fatalf("config.json limits %d, %d; want %d, %d", c.DefaultDailyLimit, c.MaxKeyLifetimeDays, testDefaultDailyLimit, testMaxKeyLifetimeDays)
	}
	tb := newTab(t, e)
	tb.signIn("pro@example.com")
	// The input's max is the last day the API accepts, as the browser's
	// clock (UTC) reckons it; either side of a midnight passing mid-test.
	checkMax := func(dialog string) {
		t.Helper()
		before := time.Now().UTC().AddDate(0, 0, testMaxKeyLifetimeDays-1).Format(time.DateOnly)
		got := eval[string](tb, `document.querySelector("[data-testid=`+dialog+`] input[name=expiresAt]").max`)
		after := time.Now().UTC().AddDate(0, 0, testMaxKeyLifetimeDays-1).Format(time.DateOnly)
		if got != before && got != after {
			t.Errorf("%s: expiresAt max %q, want %s (%d days ahead less one)", dialog, got, after, testMaxKeyLifetimeDays)
		}
	}

	tb.do(chromedp.Click(button("Create API key")))
	tb.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=create-dialog] input[name=dailyLimit]`)))
	want := fmt.Sprint(testDefaultDailyLimit)
	tb.waitText(`[data-testid=create-dialog]`, want+" when left empty")
	tb.waitText(`[data-testid=create-dialog]`, "up to 9,000 on your Pro plan")
	if got := eval[string](tb, `document.querySelector("[data-testid=create-dialog] input[name=dailyLimit]").max`); got != fmt.Sprint(testProCap) {
		t.Errorf("dailyLimit max %q, want the Pro cap %d", got, testProCap)
	}
	if got := eval[string](tb, `document.querySelector("[data-testid=create-dialog] input[name=dailyLimit]").placeholder`); got != want {
		t.Errorf("dailyLimit placeholder %q, want %q", got, want)
	}
	checkMax("create-dialog")
	tb.do(chromedp.KeyEvent("\x1b"))
	tb.waitGone(`[data-testid=create-dialog]`)

	// The API agrees: a key made without a limit gets the same number.
	key := tb.createKey("Deployment limits", "")
	prefix := key[:17]
	tb.waitText(card(prefix)+" [data-testid=daily-limit]", want)
	tb.clickKeyAction(prefix, "Edit")
	tb.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=edit-dialog] input[name=expiresAt]`)))
	checkMax("edit-dialog")
}

// TestTeamMemberSeesWorkspaceKeys: a key one member makes in the workspace
// is in the other member's workspace view.
func TestTeamMemberSeesWorkspaceKeys(t *testing.T) {
	e := browserEnv(t)
	alice := newTab(t, e)
	alice.signIn("alice@example.com")
	alice.waitText(`[data-testid=tier]`, "Team")
	alice.do(chromedp.Click(chromedp.CSS(`[data-testid=workspace-tab]`)))
	alice.waitText(`#keys-title`, "Workspace acme")
	key := alice.createKey("Shared deploy key "+time.Now().Format("150405"), "")
	if !keyPattern.MatchString(key) {
		t.Fatalf("the page showed %q, not a key", key)
	}

	bob := newTab(t, e)
	bob.signIn("bob@example.com")
	bob.do(chromedp.Click(chromedp.CSS(`[data-testid=workspace-tab]`)))
	bob.waitText(card(key[:17])+" .badge", "Active")
	if by := bob.text(card(key[:17])); strings.Contains(by, "Created by\nyou") {
		t.Error("bob's view says bob created alice's key")
	}
	// The workspace key is not one of bob's own keys.
	bob.do(chromedp.Click(`//nav//button[normalize-space()="My keys"]`))
	bob.waitText(`#keys-title`, "API keys")
	// Bob has no keys of his own, so his list, once loaded, is the empty
	// state: wait for that (not a fixed sleep, which the asynchronous load or
	// the workspace rows the reused view shows for a moment could outlast). A
	// workspace key among his keys keeps it from ever showing.
	bob.waitText(`section.keys:not([aria-busy=true])`, "No API keys yet.")
	if bob.exists(card(key[:17])) {
		t.Error("a workspace key is listed among bob's own keys")
	}
}

// TestKeyboardAndLabels: sign in and create a key with the keyboard alone;
// every control has a label.
func TestKeyboardAndLabels(t *testing.T) {
	e := browserEnv(t)
	tb := newTab(t, e)
	tb.do(
		chromedp.Navigate(e.stack.ConsoleURL),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
	)
	// The email field has focus on arrival (the browser applies autofocus at
	// its next rendering step, so wait for it rather than type into nothing).
	tb.waitFocus(`input[name=email]`)
	tb.do(
		chromedp.KeyEvent("pro@example.com"),
		chromedp.KeyEvent("\t"),
		chromedp.KeyEvent(webapp.DemoPassword),
		chromedp.KeyEvent("\r"),
	)
	tb.waitText(`[data-testid=user-email]`, "pro@example.com")
	tb.checkLabels()

	tb.do(chromedp.Focus(`//button[normalize-space()="Create API key"]`), chromedp.KeyEvent("\r"))
	tb.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=create-dialog] input[name=name]`)))
	tb.checkLabels()
	tb.waitFocus(`[data-testid=create-dialog] input[name=name]`) // the name field has focus when the dialog opens
	tb.do(chromedp.KeyEvent("Keyboard key"), chromedp.KeyEvent("\r"))
	tb.waitText(`[data-testid=shown-once]`, "you will not see it again")
	key := runT(tb, chromedp.Value(chromedp.CSS(`#new-key`)))
	// Escape asks before the key is lost; Tab and Enter confirm.
	tb.do(chromedp.KeyEvent("\x1b"))
	tb.waitText(`[data-testid=confirm-close]`, "Close without saving the key?")
	tb.waitFocus(`[data-testid=confirm-close] button.secondary`)
	tb.do(chromedp.KeyEvent("\t"), chromedp.KeyEvent("\r"))
	tb.waitGone(`[data-testid=shown-once]`)
	tb.waitFocus(`.head-actions button.primary`) // back on Create API key
	tb.waitText(card(key[:17])+" .key-name", "Keyboard key")
}

// TestNarrowScreen: at 375 px wide nothing scrolls sideways.
func TestNarrowScreen(t *testing.T) {
	e := browserEnv(t)
	tb := newTab(t, e)
	tb.do(chromedp.EmulateViewport(375, 740, chromedp.EmulateMobile))
	tb.signIn("pro@example.com")
	tb.createKey("Narrow screen key", "")
	tb.do(chromedp.Click(chromedp.CSS(`li.key button[aria-controls]`)))
	tb.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=usage-chart]`)))
	widths := eval[struct{ Scroll, Inner int }](tb, `({Scroll: document.documentElement.scrollWidth, Inner: window.innerWidth})`)
	if widths.Inner != 375 || widths.Scroll > widths.Inner {
		t.Errorf("page is %d px wide in a %d px window", widths.Scroll, widths.Inner)
	}
}

// chartLayout measures a usage chart as drawn: the smallest text's height on
// screen, and how many texts touch a bar or another text.
type chartLayout struct {
	MinTextHeight float64
	Texts         int
	Overlaps      []string
}

func (tb *tab) chartLayout(sel string) chartLayout {
	tb.t.Helper()
	return eval[chartLayout](tb, fmt.Sprintf(`(() => {
		const svg = document.querySelector(%q);
		const box = (el) => el.getBoundingClientRect();
		const texts = [...svg.querySelectorAll("text")].map((el) => ({ label: el.textContent, r: box(el) }));
		const bars = [...svg.querySelectorAll("rect.day")].map(box).filter((r) => r.height > 0);
		const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
		const overlaps = [];
		texts.forEach((t, i) => {
			if (bars.some((b) => hit(t.r, b))) overlaps.push(t.label + " / a bar");
			texts.slice(i + 1).forEach((u) => hit(t.r, u.r) && overlaps.push(t.label + " / " + u.label));
		});
		return { MinTextHeight: Math.min(...texts.map((t) => t.r.height)), Texts: texts.length, Overlaps: overlaps };
	})()`, sel))
}

// TestChartReadable: the 30-day chart of a key that used its whole limit
// today, on a desktop and at 375 px: its text is at least 11 px high on
// screen and no label covers a bar or another label (the limit's label once
// sat on today's bar, and the axis text was ~5 px high on a phone).
func TestChartReadable(t *testing.T) {
	e := browserEnv(t)
	tb := newTab(t, e)
	tb.signIn("pro@example.com")
	key := tb.createKey("Chart at its limit", "5")
	for range 5 {
		if status, _, m := callAPI(t, e, "GET", "/v1/usage", key, ""); status != 200 {
			t.Fatalf("usage: %d %v", status, m)
		}
	}
	tb.do(chromedp.Reload())
	c := card(key[:17])
	tb.waitText(c+" [data-testid=used-today]", "5 of 5")
	tb.clickKeyAction(key[:17], "Usage, 30 days")
	chart := c + " [data-testid=usage-chart]"
	tb.do(chromedp.WaitVisible(chromedp.CSS(chart)))
	tb.waitText(c+" figcaption", "Daily limit 5")

	for _, width := range []int64{1280, 375} {
		if width != 1280 {
			tb.do(chromedp.EmulateViewport(width, 800, chromedp.EmulateMobile))
		}
		var l chartLayout
		deadline := time.Now().Add(5 * time.Second)
		for {
			// The chart follows its new width at the next resize observation.
			l = tb.chartLayout(chart)
			if l.MinTextHeight >= 11 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if l.Texts < 5 || l.MinTextHeight < 11 {
			t.Errorf("%d px: %d texts, the smallest %.1f px high; want every text at least 11 px", width, l.Texts, l.MinTextHeight)
		}
		if len(l.Overlaps) > 0 {
			t.Errorf("%d px: labels overlap: %q", width, l.Overlaps)
		}
		widths := eval[struct{ Scroll, Inner int }](tb, `({Scroll: document.documentElement.scrollWidth, Inner: window.innerWidth})`)
		if widths.Scroll > widths.Inner {
			t.Errorf("%d px: the page is %d px wide", width, widths.Scroll)
		}
	}
}
