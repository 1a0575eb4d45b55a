package browser

import (
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestScreenshots writes PNGs of the console's main screens into the folder
// KEYGATE_SCREENSHOTS names (`make screenshots`: docs/). It seeds a month of
// usage by moving the API's clock back day by day and making real requests
// with real keys.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("KEYGATE_SCREENSHOTS")
	if dir == "" {
		t.Skip("KEYGATE_SCREENSHOTS is not set (make screenshots sets it)")
	}
	e := browserEnv(t)
	_, id := signInTokens(t, e, "pro@example.com")
	// Keys made weeks ago: the API's clock goes back, and so does a copy of
	// the user's ID token (re-signed with cognito-local's own key), so the
	// keys' created dates come before their usage.
	create := func(daysAgo int, body string) string {
		t.Helper()
		shift := -time.Duration(daysAgo) * 24 * time.Hour
		e.clock.Shift(shift)
		claims := tokenClaims(t, id)
		for _, k := range []string{"iat", "auth_time", "exp"} {
			claims[k] = claims[k].(float64) + shift.Seconds()
		}
		status, _, m := callAPI(t, e, "POST", "/v1/api-keys", signCognitoLocal(t, claims), body)
		if status != 201 {
			t.Fatalf("create %s: %d %v", body, status, m)
		}
		return m["data"].(map[string]any)["key"].(string)
	}
	old := create(58, `{"name":"Old laptop script","dailyLimit":100}`)
	staging := create(41, `{"name":"Staging deploys","dailyLimit":500}`)
	// A key for a job that only reads, from the runner's network (and this
	// machine's, where the usage below comes from).
	nightly := create(36, `{"name":"Nightly export","dailyLimit":250,"scopes":["reports:read","usage:read"],"allowedIps":["127.0.0.1","203.0.113.0/24"]}`)
	ci := create(33, `{"name":"CI pipeline","dailyLimit":1000}`)

	// A month of traffic: busy weekdays for CI, a steady nightly job that hit
	// its limit once, a few staging deploys.
	rng := rand.New(rand.NewPCG(7, 11))
	start := time.Now()
	for d := 29; d >= 0; d-- {
		e.clock.Shift(-time.Duration(d) * 24 * time.Hour)
		day := e.clock.Now().Weekday()
		weekend := day == time.Saturday || day == time.Sunday
		ciN := 420 + rng.IntN(330)
		if weekend {
			ciN = 60 + rng.IntN(90)
		}
		nightlyN := 170 + rng.IntN(60)
		if d == 9 {
			nightlyN = 250
		}
		stagingN := 10 + rng.IntN(50)
		if d == 0 {
			ciN, nightlyN, stagingN = 612, 143, 18
		}
		if d >= 20 {
			burst(t, e, old, 20+rng.IntN(40))
		}
		burst(t, e, ci, ciN)
		burst(t, e, nightly, nightlyN)
		burst(t, e, staging, stagingN)
		if d == 9 {
			// One more: the day's first 429, which the activity records.
			if status, _, _ := callAPI(t, e, "GET", "/v1/usage", nightly, ""); status != 429 {
				t.Fatalf("the nightly job's request over its limit: %d, want 429", status)
			}
		}
	}
	e.clock.Shift(0)
	if status, _, m := callAPI(t, e, "DELETE", "/v1/api-keys/"+old[:17], id, ""); status != 200 {
		t.Fatalf("revoke: %d %v", status, m)
	}
	// Staging's key rotated an hour's grace ago... minus a few minutes: the
	// old key still works for a while and shares its budget with the new one,
	// which the deploy job has started to use.
	status, _, m := callAPI(t, e, "POST", "/v1/api-keys/"+staging[:17]+"/rotate", id, `{"gracePeriodSeconds":3600}`)
	if status != 201 {
		t.Fatalf("rotate: %d %v", status, m)
	}
	stagingNew := m["data"].(map[string]any)["key"].(string)
	burst(t, e, stagingNew, 6)

	// The team workspace: keys made by alice, by bob, and by a CI bot
	// whose token carried no email.
	_, aliceID := signInTokens(t, e, "alice@example.com")
	_, bobID := signInTokens(t, e, "bob@example.com")
	botClaims := tokenClaims(t, bobID)
	delete(botClaims, "email")
	botClaims["sub"] = "0d4f7a52-9c1e-4b7a-8f3e-2a6b5c4d3e2f"
	for _, w := range []struct {
		token, body string
		uses        int
	}{
		{signCognitoLocal(t, botClaims), `{"name":"Nightly backup (CI bot)","daily_limit":500}`, 120},
		{bobID, `{"name":"Mobile app backend","daily_limit":5000}`, 1840},
		{aliceID, `{"name":"Deploy pipeline","daily_limit":1000}`, 312},
	} {
		status, _, m := callAPI(t, e, "POST", "/api/v1/workspaces/acme/api-keys", w.token, w.body)
		if status != 201 {
			t.Fatalf("workspace key %s: %d %v", w.body, status, m)
		}
		burst(t, e, m["key"].(string), w.uses)
	}
	t.Logf("seeded a month of usage in %v", time.Since(start).Round(time.Millisecond))

	save := func(name string, png []byte) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d KB)", p, len(png)>>10)
	}

	tb := newTab(t, e)
	tb.do(chromedp.EmulateViewport(1200, 1000))
	tb.signIn("pro@example.com")
	tb.waitText(card(ci[:17])+" [data-testid=used-today]", "612 of 1,000")
	tb.waitText(card(old[:17])+" .badge", "Revoked")
	tb.waitText(card(staging[:17])+" .badge", "Grace period")
	save("console-keys.png", runT(tb, chromedp.FullScreenshot(100)))

	// The rotated pair: the old key's grace period, one shared budget.
	pair := append(runT(tb, chromedp.Nodes(chromedp.CSS(card(stagingNew[:17])))), runT(tb, chromedp.Nodes(chromedp.CSS(card(staging[:17]))))...)
	save("console-rotation.png", runT(tb, chromedp.ScreenshotNodes(pair, 1)))

	tb.clickKeyAction(ci[:17], "Usage, 30 days")
	tb.do(chromedp.WaitVisible(chromedp.CSS(card(ci[:17]) + " [data-testid=usage-chart]")))
	time.Sleep(400 * time.Millisecond) // the bar's width transition
	save("console-usage-chart.png", runT(tb, chromedp.Screenshot(chromedp.CSS(card(ci[:17])))))
	tb.clickKeyAction(ci[:17], "Hide usage")

	phone := newTab(t, e)
	phone.do(chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	phone.signIn("pro@example.com")
	phone.waitText(card(ci[:17])+" [data-testid=used-today]", "612 of 1,000")
	save("console-mobile.png", runT(phone, chromedp.CaptureScreenshot()))
	phone.clickKeyAction(ci[:17], "Usage, 30 days")
	phone.do(chromedp.WaitVisible(chromedp.CSS(card(ci[:17]) + " [data-testid=usage-chart]")))
	time.Sleep(400 * time.Millisecond)
	save("console-mobile-chart.png", runT(phone, chromedp.Screenshot(chromedp.CSS(card(ci[:17])+" figure.chart"))))

	tb.do(
		chromedp.EmulateViewport(1200, 760),
		chromedp.Click(button("Create API key")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=create-dialog] input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=create-dialog] input[name=name]`), "Mobile app backend"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=create-dialog] input[name=dailyLimit]`), "2000"),
		chromedp.Click(chromedp.CSS(`[data-testid=create-dialog] button[type=submit]`)),
	)
	tb.waitText(`[data-testid=shown-once]`, "you will not see it again")
	time.Sleep(200 * time.Millisecond)
	save("console-key-shown-once.png", runT(tb, chromedp.CaptureScreenshot()))

	tb.do(chromedp.Click(`//dialog[@data-testid="shown-once"]` + button("I have saved it")))
	tb.waitGone(`[data-testid=shown-once]`)

	// The create dialog with a key limited to reading reports from two networks.
	tb.do(
		chromedp.EmulateViewport(1200, 1100),
		chromedp.Click(button("Create API key")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=create-dialog] input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=create-dialog] input[name=name]`), "Reporting dashboard"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=create-dialog] input[name=dailyLimit]`), "5000"),
	)
	tb.waitText(`[data-testid=create-dialog] [data-testid=scopes-field]`, "usage:read")
	tb.do(
		chromedp.Click(chromedp.CSS(`[data-testid=create-dialog] #scope-all`)),
		chromedp.Click(chromedp.CSS(`[data-testid=create-dialog] input[name=scopes][value="reports:read"]`)),
	)
	tb.setField(`[data-testid=create-dialog] textarea[name=allowedIps]`, "203.0.113.0/24\n2001:db8:4000::/48")
	tb.do(chromedp.Focus(`[data-testid=create-dialog] textarea[name=allowedIps]`))
	time.Sleep(200 * time.Millisecond)
	save("console-create-scoped.png", runT(tb, chromedp.Screenshot(chromedp.CSS(`[data-testid=create-dialog]`))))
	tb.do(chromedp.Click(`//dialog[@data-testid="create-dialog"]` + button("Cancel")))
	tb.waitGone(`[data-testid=create-dialog]`)

	team := newTab(t, e)
	team.do(chromedp.EmulateViewport(1200, 900))
	team.openWorkspace("alice@example.com")
	team.waitText(`.key-list`, "Nightly backup (CI bot)")
	team.waitText(`.key-list`, "1,840 of 5,000")
	save("console-workspace.png", runT(team, chromedp.FullScreenshot(100)))

	// The activity: a change made from a terminal, then the log of it all.
	req, err := http.NewRequest("PATCH", e.stack.API.URL+"/v1/api-keys/"+nightly[:17], strings.NewReader(`{"dailyLimit":300}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+id)
	req.Header.Set("User-Agent", "curl/8.5.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("raise the nightly limit: %v %v", resp, err)
	}
	resp.Body.Close()
	tb.do(chromedp.EmulateViewport(1200, 900), chromedp.Click(chromedp.CSS(`[data-testid=activity-tab]`)))
	tb.waitText(`ol.events > li.event:first-child`, "raised the daily limit of Nightly export from 250 to 300")
	tb.waitText(`ol.events`, "reached its daily limit")
	save("console-activity.png", runT(tb, chromedp.FullScreenshot(100)))
}

// burst makes n key-authenticated requests, 16 at a time.
func burst(t *testing.T, e *env, key string, n int) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	jobs := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				req, _ := http.NewRequest("GET", e.stack.API.URL+"/v1/usage", nil)
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := client.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != 200 {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		}()
	}
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	if failed > 0 {
		t.Fatalf("%d of %d requests failed", failed, n)
	}
}
