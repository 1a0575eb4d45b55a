package webapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"path/filepath"
	"strings"

	"github.com/keygate/keygate/local/workdir"
)

// ConsoleConfig is the console's /config.json. The deployed stack writes the
// same file (apiUrl, region, userPoolId, clientId and the limits); local
// mode adds the rest.
type ConsoleConfig struct {
	APIURL     string `json:"apiUrl"`
	Region     string `json:"region"`
	UserPoolID string `json:"userPoolId"`
	ClientID   string `json:"clientId"`
	// DefaultDailyLimit and MaxKeyLifetimeDays are the API's settings
	// (KEYGATE_DEFAULT_DAILY_LIMIT, KEYGATE_MAX_KEY_LIFETIME_DAYS), which the
	// console's forms show; 0 leaves them out and the console uses its own
	// defaults.
	DefaultDailyLimit  int `json:"defaultDailyLimit,omitempty"`
	MaxKeyLifetimeDays int `json:"maxKeyLifetimeDays,omitempty"`
	// TierCaps are the highest daily limits of the paid tiers
	// (KEYGATE_TIER_CAPS), which the create form states before a user hits
	// them; zero leaves them out.
	TierCaps TierCaps `json:"tierCaps,omitzero"`
	// CognitoEndpoint is cognito-local's address; empty means AWS's.
	CognitoEndpoint string `json:"cognitoEndpoint,omitempty"`
	// AuthFlow is USER_PASSWORD_AUTH with cognito-local (it has no SRP);
	// empty means the console's default, USER_SRP_AUTH.
	AuthFlow string `json:"authFlow,omitempty"`
	// APIToken is "id" with cognito-local (its access tokens never carry
	// custom:tier); empty means the console's default, the access token.
	APIToken string `json:"apiToken,omitempty"`
}

// TierCaps is config.json's tierCaps: {"pro": 10000, "team": 50000, "enterprise": 1000000}.
type TierCaps struct {
	Pro        int `json:"pro,omitempty"`
	Team       int `json:"team,omitempty"`
	Enterprise int `json:"enterprise,omitempty"`
}

// ConsoleDir finds console/dist (built by `make console`) above the working
// directory.
func ConsoleDir() (string, error) {
	dir, err := workdir.FindUp(func(dir string) bool { return workdir.Exists(filepath.Join(dir, "console", "package.json")) })
	switch {
	case errors.Is(err, workdir.ErrNotFound):
		return "", errors.New("console/ not found above the working directory")
	case err != nil:
		return "", err
	}
	d := filepath.Join(dir, "console", "dist")
	if !workdir.Exists(filepath.Join(d, "index.html")) {
		return "", fmt.Errorf("the console is not built in %s: run `make console`", d)
	}
	return d, nil
}

// ConsoleHandler serves the built console from dir, and cfg as /config.json,
// with the security headers a deployed console gets: a Content-Security-Policy
// that lets the page talk only to its own origin and connect (the API and
// Cognito), no framing, no referrer, no MIME sniffing.
func ConsoleHandler(dir string, cfg ConsoleConfig, connect ...string) http.Handler {
	csp := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
		"connect-src 'self' " + strings.Join(connect, " ") + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	cfgJSON, _ := json.MarshalIndent(cfg, "", "  ")
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		switch {
		case p == "/config.json":
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "no-store")
			_, _ = w.Write(cfgJSON)
			return
		case p == "/" || p == "/index.html" || !strings.Contains(path.Base(p), "."):
			// The app's own pages: always index.html, never cached (it names the
			// hashed bundle of the current build).
			h.Set("Cache-Control", "no-store")
			http.ServeFile(w, r, filepath.Join(dir, "index.html"))
			return
		case strings.HasPrefix(path.Base(p), "app-"):
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		files.ServeHTTP(w, r)
	})
}
