package browser

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestRejectedSessionSignsOut: when the API answers 401 to the console's
// token (here: the API's clock is two hours on, so the ID token the browser
// still holds has expired as far as the API can tell), the console signs out
// cleanly and says why, instead of leaving a page of errors; the user can
// sign in again.
func TestRejectedSessionSignsOut(t *testing.T) {
	e := browserEnv(t)
	tb := newTab(t, e)
	tb.signIn("pro@example.com")
	tb.waitText(`.keys`, "API keys")
	tb.do(chromedp.WaitVisible(chromedp.CSS(`.keys .count, .keys .empty`)))

	e.clock.Shift(2 * time.Hour)
	t.Cleanup(func() { e.clock.Shift(0) })
	tb.do(chromedp.Click(button("Refresh")))
	msg := tb.waitText(`[data-testid=signed-out]`, "You were signed out")
	if !strings.Contains(msg, "Sign in again") {
		t.Errorf("the sign-in page says %q; want it to say what to do", msg)
	}
	tb.waitFocus(`input[name=email]`)
	if tb.exists(`[data-testid=user-email]`) || tb.exists(`.keys`) {
		t.Error("the signed-in page is still shown")
	}
	// Signed out for good: a reload does not bring the rejected session back.
	tb.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)))
	if tb.exists(`[data-testid=user-email]`) {
		t.Error("a reload restored the rejected session")
	}

	e.clock.Shift(0)
	tb.signIn("pro@example.com")
	tb.do(chromedp.WaitVisible(chromedp.CSS(`.keys .count, .keys .empty`)))
	if tb.exists(`.keys [role=alert]`) {
		t.Errorf("after signing in again: %q", tb.text(`.keys [role=alert]`))
	}
}
