package browser

import (
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestGracePeriodAndSharedBudget: after a rotation with a grace period, the
// old key says it is in its grace period and when it stops (not "Active",
// like its successor); the pair's one daily budget is shown once, on the
// successor, and said to be shared; each key shows its own last use.
func TestGracePeriodAndSharedBudget(t *testing.T) {
	e := browserEnv(t)
	tb := newTab(t, e)
	tb.signIn("pro@example.com")
	old := tb.createKey("Browser grace", "5")
	for range 2 {
		if status, _, m := callAPI(t, e, "GET", "/v1/usage", old, ""); status != 200 {
			t.Fatalf("usage with the old key: %d %v", status, m)
		}
	}

	tb.do(chromedp.Reload())
	tb.waitText(card(old[:17])+" [data-testid=used-today]", "2 of 5")
	tb.clickKeyAction(old[:17], "Rotate")
	tb.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=rotate-dialog] select[name=grace]`)))
	if got := runT(tb, chromedp.Value(chromedp.CSS(`[data-testid=rotate-dialog] select[name=grace]`))); got != "3600" {
		t.Fatalf("grace defaults to %q, want 3600 (1 hour)", got)
	}
	tb.do(chromedp.Click(chromedp.CSS(`[data-testid=rotate-dialog] button[type=submit]`)))
	tb.waitText(`[data-testid=shown-once]`, "share one daily budget")
	successor := tb.readShownKey()
	// The Rotate button went with the rotation: the focus is on the new key's card.
	tb.waitFocus(`#key-name-` + successor[:17])

	oldCard, newCard := card(old[:17]), card(successor[:17])
	badge := tb.waitText(oldCard+" .badge", "Grace period — stops at ")
	if left := tb.text(oldCard + " [data-testid=grace-left]"); !regexp.MustCompile(`^(\d+ h|\d+ h \d+ min|\d+ min) left$`).MatchString(left) {
		t.Errorf("the old key shows %q, then %q; want the time left", badge, left)
	}
	if got := tb.text(newCard + " .badge"); got != "Active" {
		t.Errorf("successor badge %q, want Active", got)
	}

	// One budget, shown once: on the successor, said to be shared.
	tb.waitText(newCard+" [data-testid=used-today]", "2 of 5")
	tb.waitText(newCard+" .key-usage", "shared")
	if note := tb.text(newCard + " p[data-testid=shared-budget]"); !strings.Contains(note, old[:17]) {
		t.Errorf("the successor's note %q does not name the key it shares with", note)
	}
	if tb.exists(oldCard + " [data-testid=used-today]") {
		t.Error("the old key shows the shared budget a second time")
	}
	if note := tb.text(oldCard + " [data-testid=shared-budget]"); !strings.Contains(note, successor[:17]) {
		t.Errorf("the old key's note %q does not say where its budget is shown", note)
	}

	// Each key's own last use.
	if got := tb.text(oldCard + " [data-testid=last-used]"); got == "Never" {
		t.Error("the old key, used twice, shows Last used: Never")
	}
	if got := tb.text(newCard + " [data-testid=last-used]"); got != "Never" {
		t.Errorf("the unused successor shows Last used %q", got)
	}
	if status, _, m := callAPI(t, e, "GET", "/v1/usage", successor, ""); status != 200 {
		t.Fatalf("usage with the successor: %d %v", status, m)
	}
	tb.do(chromedp.Click(button("Refresh")))
	tb.waitText(newCard+" [data-testid=used-today]", "3 of 5")
	tb.waitText(newCard+" [data-testid=last-used]", ":") // a time, no longer "Never"
}
