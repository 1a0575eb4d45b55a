package config

import (
	"fmt"
	"net/url"
	"strings"
)

// origins parses KEYGATE_ALLOWED_ORIGINS: comma-separated web origins, each
// exactly as a browser sends it in the Origin header (scheme://host[:port],
// no path, no trailing slash; a trailing slash is forgiven). Browsers compare
// origins as strings, so anything else could never match and is an error.
func origins(s string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(s, ",") {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || o != u.Scheme+"://"+strings.ToLower(u.Host) {
			return nil, fmt.Errorf("%s: %q is not a web origin like https://console.example.com or http://127.0.0.1:8082", EnvAllowedOrigins, o)
		}
		out = append(out, o)
	}
	return out, nil
}
