package browser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keygate/keygate/examples/reports"
	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/webapp"
	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/secretscan/secretscantest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	teardown()
	testenv.StopDynalite()
	os.Exit(code)
}

// shiftClock is the real clock moved by an offset, so that tests can make
// requests "on earlier days" (usage history) and return to now.
type shiftClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *shiftClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.off)
}

func (c *shiftClock) Shift(d time.Duration) { c.mu.Lock(); c.off = d; c.mu.Unlock() }

// env is what every test of the binary shares: one web app stack (its own
// table in the binary's dynalite) and one running browser.
type env struct {
	stack     *webapp.Stack
	clock     *shiftClock
	browser   context.Context // nil when Chromium is unavailable
	noBrowser error
	// github publishes the key that signs secret scanning reports.
	github *secretscantest.Signer
	stop   []func()
}

// stackTB hands a helper that ties a resource to a test's lifetime the
// shared stack's lifetime instead: it outlives the test that started it.
type stackTB struct {
	testing.TB
	e *env
}

func (s stackTB) Cleanup(f func()) { s.e.stop = append(s.e.stop, f) }

var (
	setupOnce sync.Once
	shared    *env
	setupErr  error
)

// required says whether a missing prerequisite fails rather than skips:
// with KEYGATE_REQUIRE_BROWSER=1 (make test) or in CI.
func required() bool { return os.Getenv("KEYGATE_REQUIRE_BROWSER") == "1" || testenv.InCI() }

func unavailable(t *testing.T, err error) {
	t.Helper()
	if required() {
		t.Fatal(err)
	}
	t.Skip(err)
}

// stack returns the shared web app stack, starting it on first use.
func stack(t *testing.T) *env {
	t.Helper()
	setupOnce.Do(func() { shared, setupErr = setup(t) })
	if setupErr != nil {
		if errors.Is(setupErr, errPrereq) {
			unavailable(t, setupErr)
		}
		t.Fatal(setupErr)
	}
	return shared
}

var errPrereq = errors.New("prerequisite missing")

// The web app's key limits (KEYGATE_DEFAULT_DAILY_LIMIT, KEYGATE_MAX_KEY_LIFETIME_DAYS,
// KEYGATE_TIER_CAPS for pro).
const testDefaultDailyLimit, testMaxKeyLifetimeDays, testProCap = 400, 90, 9000

func setup(t *testing.T) (*env, error) {
	dir, err := webapp.ConsoleDir()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errPrereq, err)
	}
	e := &env{clock: &shiftClock{}}
	// GitHub's side of secret scanning: a published key that signs reports.
	gh := secretscantest.New(stackTB{t, e})
	e.github = gh.AddKey(t, "gh-browser")
	// Key limits other than the defaults, so TestFormsShowDeploymentLimits
	// sees them reach the console through /config.json. The example
	// product's routes are declared as a deployment declares a product's
	// (KEYGATE_ROUTES), so GET /v1/scopes and the gateway's policy have its
	// scopes (reports:read, reports:write) beside keygate's usage:read.
	getenv := map[string]string{
		config.EnvRoutes:            route.Encode(reports.Routes),
		config.EnvDynamoDBEndpoint:  testenv.Endpoint(t),
		config.EnvTable:             "browser-" + testenv.TableName(t),
		config.EnvDefaultDailyLimit: fmt.Sprint(testDefaultDailyLimit),
		config.EnvMaxKeyLifetime:    fmt.Sprint(testMaxKeyLifetimeDays),
		config.EnvTierCaps:          fmt.Sprintf("pro=%d", testProCap),
		config.EnvGitHubKeysURL:     gh.URL,
	}
	level := slog.LevelWarn
	var cognitoOut io.Writer
	if os.Getenv("KEYGATE_TEST_VERBOSE") != "" {
		level, cognitoOut = slog.LevelDebug, os.Stderr
	}
	start := time.Now()
	e.stack, err = webapp.Start(context.Background(), webapp.Options{
		Getenv: func(k string) string { return getenv[k] },
		Addr:   "127.0.0.1:0", IssuerAddr: "127.0.0.1:0", ConsoleAddr: "127.0.0.1:0", CognitoAddr: "127.0.0.1:0",
		ConsoleDir: dir, Clock: e.clock, CognitoOutput: cognitoOut,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		return nil, err
	}
	e.stop = append(e.stop, e.stack.Close)
	t.Logf("web app stack up in %v: console %s, API %s", time.Since(start).Round(time.Millisecond), e.stack.ConsoleURL, e.stack.API.URL)
	e.noBrowser = startBrowser(e)
	return e, nil
}

func teardown() {
	if shared == nil {
		return
	}
	for i := len(shared.stop) - 1; i >= 0; i-- {
		shared.stop[i]()
	}
}

// chromiumPath finds Debian's chromium.
func chromiumPath() (string, error) {
	if p := os.Getenv("KEYGATE_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: chromium is not installed: run `make chromium` (Debian's chromium without recommended packages), or set KEYGATE_CHROMIUM to a Chromium", errPrereq)
}

func startBrowser(e *env) error {
	path, err := chromiumPath()
	if err != nil {
		return err
	}
	userData, err := os.MkdirTemp("", "keygate-chromium-")
	if err != nil {
		return err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in CI
		chromedp.DisableGPU,
		chromedp.UserDataDir(userData),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	start := time.Now()
	if err := chromedp.Do(browser); err != nil {
		cancelBrowser()
		cancelAlloc()
		return fmt.Errorf("%w: start chromium: %v", errPrereq, err)
	}
	slog.Debug("chromium started", "after", time.Since(start))
	e.browser = browser
	e.stop = append(e.stop, func() {
		cancelBrowser()
		cancelAlloc()
		_ = os.RemoveAll(userData)
	})
	return nil
}

// browserEnv is stack(t) plus a running browser.
func browserEnv(t *testing.T) *env {
	t.Helper()
	e := stack(t)
	if e.browser == nil {
		if !errors.Is(e.noBrowser, errPrereq) {
			t.Fatal(e.noBrowser)
		}
		unavailable(t, e.noBrowser)
	}
	return e
}
