package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keygate/keygate/local/webapp"
)

// tab is one page in a fresh browser context (its own storage: signed out).
type tab struct {
	t   *testing.T
	ctx context.Context
	e   *env

	mu   sync.Mutex
	logs []string
}

func newTab(t *testing.T, e *env) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(e.browser, chromedp.WithNewBrowserContext())
	tb := &tab{t: t, ctx: ctx, e: e}
	t.Cleanup(func() {
		if t.Failed() {
			tb.mu.Lock()
			for _, l := range tb.logs {
				t.Log(l)
			}
			tb.mu.Unlock()
		}
		cancel()
	})
	// The first Run opens the tab; the page's console and uncaught
	// exceptions are kept for the log of a failed test.
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			tb.log("page %s", m)
		}
	}()
	tb.do(chromedp.EmulateViewport(1280, 900))
	return tb
}

func (tb *tab) log(format string, args ...any) {
	tb.mu.Lock()
	tb.logs = append(tb.logs, fmt.Sprintf(format, args...))
	tb.mu.Unlock()
}

// actionTimeout bounds every step; a step that waits for an element fails
// after it rather than hanging the test binary.
const actionTimeout = 60 * time.Second

func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

func runT[T any](tb *tab, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
	return v
}

// eval evaluates a JavaScript expression, awaiting a promise.
func eval[T any](tb *tab, js string) T {
	tb.t.Helper()
	return runT(tb, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// text is the visible text of the first element matching the CSS selector.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	return strings.TrimSpace(runT(tb, chromedp.Text(chromedp.CSS(sel))))
}

// waitText waits until the element matching sel shows text containing want.
func (tb *tab) waitText(sel, want string) string {
	tb.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); return el ? el.innerText : "" })()`, sel)
	var last string
	for time.Now().Before(deadline) {
		if last = strings.TrimSpace(eval[string](tb, js)); strings.Contains(last, want) {
			return last
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.t.Fatalf("%s shows %q, want it to contain %q", sel, last, want)
	return ""
}

// tabTo presses Tab until the element matching sel has the keyboard focus.
func (tb *tab) tabTo(sel string) {
	tb.t.Helper()
	js := fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, sel)
	for range 30 {
		if eval[bool](tb, js) {
			return
		}
		tb.do(chromedp.KeyEvent("\t"))
	}
	tb.t.Fatalf("30 presses of Tab never reached %s", sel)
}

// waitFocus waits until the element matching sel has the keyboard focus.
func (tb *tab) waitFocus(sel string) {
	tb.t.Helper()
	js := fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, sel)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if eval[bool](tb, js) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.t.Fatalf("%s does not have the focus", sel)
}

// exists says whether the CSS selector matches an element now.
func (tb *tab) exists(sel string) bool {
	tb.t.Helper()
	return eval[bool](tb, fmt.Sprintf(`document.querySelector(%q) !== null`, sel))
}

// signIn opens the console and signs in as the demo user with that email.
func (tb *tab) signIn(email string) {
	tb.t.Helper()
	tb.do(
		chromedp.Navigate(tb.e.stack.ConsoleURL),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), webapp.DemoPassword),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
	)
	tb.waitText(`[data-testid=user-email]`, email)
}

// card is the CSS selector of the key card of prefix.
func card(prefix string) string { return fmt.Sprintf(`li.key[data-prefix=%q]`, prefix) }

// button is an XPath search for a button by its label.
func button(label string) string { return fmt.Sprintf(`//button[normalize-space()=%q]`, label) }

// createKey uses the Create dialog and returns the full key the page shows
// once, closing the dialog afterwards.
func (tb *tab) createKey(name, limit string) string {
	tb.t.Helper()
	tb.do(
		chromedp.Click(button("Create API key")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=create-dialog] input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=create-dialog] input[name=name]`), name),
	)
	if limit != "" {
		tb.do(chromedp.SendKeys(chromedp.CSS(`[data-testid=create-dialog] input[name=dailyLimit]`), limit))
	}
	tb.do(chromedp.Click(chromedp.CSS(`[data-testid=create-dialog] button[type=submit]`)))
	return tb.readShownKey()
}

// readShownKey reads the key from the shown-once dialog and closes it.
func (tb *tab) readShownKey() string {
	tb.t.Helper()
	tb.waitText(`[data-testid=shown-once]`, "you will not see it again")
	key := runT(tb, chromedp.Value(chromedp.CSS(`#new-key`)))
	tb.do(chromedp.Click(`//dialog[@data-testid="shown-once"]` + button("I have saved it")))
	tb.waitGone(`[data-testid=shown-once]`)
	return key
}

func (tb *tab) waitGone(sel string) {
	tb.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if !tb.exists(sel) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.t.Fatalf("%s is still shown", sel)
}

// callAPI sends one request to the API with a bearer credential and returns
// the status, the headers and the decoded body.
func callAPI(t *testing.T, e *env, method, path, cred string, body string) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.stack.API.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, resp.Header, m
}

func errMessage(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// setField replaces the value of an input, textarea or select and fires the events a
// person's typing or choosing would.
func (tb *tab) setField(sel, value string) {
	tb.t.Helper()
	js := fmt.Sprintf(`(() => {
		const el = document.querySelector(%q);
		if (!el) return false;
		const proto = el instanceof HTMLSelectElement ? HTMLSelectElement.prototype
			: el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
		Object.getOwnPropertyDescriptor(proto, "value").set.call(el, %q);
		el.dispatchEvent(new Event("input", { bubbles: true }));
		el.dispatchEvent(new Event("change", { bubbles: true }));
		return true;
	})()`, sel, value)
	if !eval[bool](tb, js) {
		tb.t.Fatalf("no field %s", sel)
	}
}

// click clicks the button of a key card by its label.
func (tb *tab) clickKeyAction(prefix, label string) {
	tb.t.Helper()
	tb.do(chromedp.Click(fmt.Sprintf(`//li[@data-prefix=%q]`, prefix) + button(label)))
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// signInTokens signs a demo user in with cognito-local and returns the access
// and ID tokens.
func signInTokens(t *testing.T, e *env, email string) (access, id string) {
	t.Helper()
	access, id, err := e.stack.Cognito.SignIn(context.Background(), e.stack.Pool.ClientID, email, webapp.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	return access, id
}

// checkLabels fails the test for any visible control without an accessible
// name (a label, aria-label or aria-labelledby; a button's text).
func (tb *tab) checkLabels() {
	tb.t.Helper()
	missing := eval[[]string](tb, `[...document.querySelectorAll("input, select, textarea, button")]
		.filter(el => el.offsetParent !== null || el.closest("dialog[open]"))
		.filter(el => {
			if (el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")) return false;
			if (el.tagName === "BUTTON") return el.textContent.trim() === "";
			return !el.labels || el.labels.length === 0;
		})
		.map(el => el.outerHTML.slice(0, 120))`)
	if len(missing) > 0 {
		tb.t.Errorf("controls without a label: %q", missing)
	}
}
