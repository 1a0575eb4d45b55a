package devissuer

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// serve runs an issuer for the test at its own URL.
func serve(t *testing.T) (*Issuer, *httptest.Server) {
	t.Helper()
	iss, err := New("client")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(iss.Handler())
	t.Cleanup(srv.Close)
	iss.URL = srv.URL
	return iss, srv
}

// ask is a GET /token and the status and text its answer must have.
type ask struct {
	name, query string
	status      int
	says        string
}

func askAll(t *testing.T, srv *httptest.Server, asks []ask) {
	t.Helper()
	for _, tt := range asks {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := srv.Client().Get(srv.URL + "/token?" + tt.query)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.says) {
				t.Fatalf("%d %q", resp.StatusCode, b)
			}
		})
	}
}

func TestTokenEndpoint(t *testing.T) {
	_, srv := serve(t)
	askAll(t, srv, []ask{
		{"a team member", "sub=alice&tier=team&teamId=t1", 200, "eyJ"},
		{"an ID token with a ttl", "sub=bob&use=id&ttl=60", 200, "eyJ"},
		{"no sub is refused", "tier=pro", 400, "user or sub is required"},
		{"no demo users before SetUserTokens", "user=pro@example.com", 404, "no demo users here"},
		{"an unknown tier is refused", "sub=a&tier=gold", 400, `tier "gold"`},
		{"a tier typo is refused", "sub=a&tier=Pro%20", 400, "is not free, pro, team or enterprise"},
		{"an unknown parameter is refused", "sub=a&teamid=t1", 400, `unknown parameter "teamid"`},
		{"a bad use is refused", "sub=a&use=refresh", 400, "use must be"},
		{"a bad ttl is refused", "sub=a&ttl=0", 400, "ttl must be"},
	})
}

func TestDemoUserTokens(t *testing.T) {
	iss, srv := serve(t)
	iss.SetUserTokens(func(_ context.Context, email, use string) (string, error) {
		if email != "pro@example.com" {
			return "", fmt.Errorf("%w %q: pro@example.com is", ErrUnknownUser, email)
		}
		return "token-of-" + email + "-" + use, nil
	})
	askAll(t, srv, []ask{
		{"a demo user's ID token by default", "user=pro@example.com", 200, "token-of-pro@example.com-id\n"},
		{"an access token when asked", "user=pro@example.com&use=access", 200, "token-of-pro@example.com-access\n"},
		{"an unknown user is 404 and says who is known", "user=eve@example.com", 404, "pro@example.com is"},
		{"a tier does not go with a demo user", "user=pro@example.com&tier=team", 400, `parameter "tier" does not go with user`},
		{"a bad use is refused", "user=pro@example.com&use=refresh", 400, "use must be"},
		{"sub still mints this issuer's own tokens", "sub=a&tier=pro", 200, "eyJ"},
	})
}
