// Package browser tests keygate's web console in a real headless Chromium
// (Debian's chromium package, driven over the DevTools protocol by chromedp)
// against the stack `make dev` runs: cognito-local with its pool and demo
// users, keygate's pre-token-generation trigger, the API on dynalite and the
// built console on its own origin. Each test asserts on what the page shows.
// The package also holds the HTTP-level checks of CORS and of cognito-local's
// tokens, the console bundle's size budget, and `make screenshots`.
//
// Chromium is found as `chromium` on PATH (or KEYGATE_CHROMIUM); the console
// must be built (`make console`). When either is missing the tests skip,
// unless KEYGATE_REQUIRE_BROWSER=1 (set by `make test`), which fails them.
package browser
