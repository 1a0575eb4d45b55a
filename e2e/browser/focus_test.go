package browser

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// focused describes the element that has the focus, for failure messages.
func (tb *tab) focused() string {
	tb.t.Helper()
	return eval[string](tb, `(() => { const a = document.activeElement; return a ? a.outerHTML.slice(0, 120) : "nothing" })()`)
}

// TestFocusReturns: when a dialog closes, the focus goes back to the control
// that opened it, or, when that control is gone, to the card it acted on;
// after signing out it is in the email field, never on <body>. Escape on the
// shown-once dialog asks before the key is lost.
func TestFocusReturns(t *testing.T) {
	e := browserEnv(t)
	tb := newTab(t, e)
	tb.signIn("pro@example.com")
	create := `.head-actions button.primary`

	// "I have saved it": back on Create API key.
	key := tb.createKey("Focus key", "")
	prefix := key[:17]
	tb.waitFocus(create)

	// Escape asks first; "Back to the key" keeps the key on screen; asked
	// again, "Close without saving" closes, and the focus is back on Create.
	tb.do(
		chromedp.Click(button("Create API key")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=create-dialog] input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=create-dialog] input[name=name]`), "Focus key 2"),
		chromedp.Click(chromedp.CSS(`[data-testid=create-dialog] button[type=submit]`)),
	)
	tb.waitText(`[data-testid=shown-once]`, "you will not see it again")
	tb.do(chromedp.KeyEvent("\x1b"))
	tb.waitText(`[data-testid=confirm-close]`, "Close without saving the key?")
	if !tb.exists(`dialog[open][data-testid=shown-once] #new-key`) {
		t.Fatal("Escape closed the shown-once dialog without asking")
	}
	tb.do(chromedp.Click(`//dialog[@data-testid="shown-once"]` + button("Back to the key")))
	tb.waitGone(`[data-testid=confirm-close]`)
	if !tb.exists(`dialog[open][data-testid=shown-once] #new-key`) {
		t.Fatal("Back to the key closed the dialog")
	}
	tb.do(chromedp.KeyEvent("\x1b"))
	tb.do(chromedp.Click(`//dialog[@data-testid="shown-once"]` + button("Close without saving")))
	tb.waitGone(`[data-testid=shown-once]`)
	tb.waitFocus(create)

	// Edit: back on that key's Edit button.
	edit := fmt.Sprintf(`%s button[aria-label="Edit Focus key"]`, card(prefix))
	tb.do(chromedp.Click(chromedp.CSS(edit)))
	tb.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=edit-dialog] input[name=dailyLimit]`)))
	tb.setField(`[data-testid=edit-dialog] input[name=dailyLimit]`, "7")
	tb.do(chromedp.Click(chromedp.CSS(`[data-testid=edit-dialog] button[type=submit]`)))
	tb.waitGone(`[data-testid=edit-dialog]`)
	tb.waitFocus(edit)

	// Cancel: back where it came from too.
	tb.do(chromedp.Click(chromedp.CSS(edit)))
	tb.do(chromedp.Click(`//dialog[@data-testid="edit-dialog"]` + button("Cancel")))
	tb.waitGone(`[data-testid=edit-dialog]`)
	tb.waitFocus(edit)

	// Revoke: the button is gone with the key's activity; the focus is on
	// the key's card (its name).
	tb.clickKeyAction(prefix, "Revoke")
	tb.do(chromedp.Click(chromedp.CSS(`[data-testid=revoke-dialog] button[type=submit]`)))
	tb.waitGone(`[data-testid=revoke-dialog]`)
	tb.waitText(card(prefix)+" .badge", "Revoked")
	tb.waitFocus(`#key-name-` + prefix)

	// Signing out: the email field of the sign-in form.
	tb.do(chromedp.Click(button("Sign out")))
	tb.do(chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)))
	tb.waitFocus(`input[name=email]`)
	if t.Failed() {
		t.Logf("focus is on %s", tb.focused())
	}
}

// TestControlsNameTheirKey: each card's buttons and meter have an accessible
// name with the key's name ("Revoke CI pipeline", not "Revoke"), with its
// prefix when two keys have the same name (a key and its rotation successor).
func TestControlsNameTheirKey(t *testing.T) {
	e := browserEnv(t)
	tb := newTab(t, e)
	tb.signIn("pro@example.com")
	key := tb.createKey("Named controls", "")
	c := card(key[:17])
	tb.waitText(c+" .badge", "Active")
	names := eval[[]string](tb, fmt.Sprintf(`[...document.querySelectorAll(%q)].map((el) => el.getAttribute("aria-label") || "")`,
		c+" button, "+c+" [role=progressbar]"))
	want := []string{"Used today by Named controls", "Usage, 30 days: Named controls", "Edit Named controls", "Rotate Named controls", "Revoke Named controls"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("accessible names %q, want %q", names, want)
	}
	tb.checkLabels()

	// Rotated with a grace period, the two keys share a name: the prefix tells them apart.
	tb.clickKeyAction(key[:17], "Rotate")
	tb.do(chromedp.Click(chromedp.CSS(`[data-testid=rotate-dialog] button[type=submit]`)))
	successor := tb.readShownKey()
	tb.waitText(card(successor[:17])+" .badge", "Active")
	for _, k := range []string{key, successor} {
		label := fmt.Sprintf("Revoke Named controls (%s)", k[:17])
		if !tb.exists(card(k[:17]) + fmt.Sprintf(` button[aria-label=%q]`, label)) {
			t.Errorf("no button named %q", label)
		}
	}
}
