package devgithub_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keygate/keygate/local/devgithub"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/secretscan"
)

// TestKeyListAndSignatureAsGitHubs: keygate's own verifier, fetching the
// served list, accepts a report the signer signs and refuses one changed by a
// byte; the key saved and loaded again signs under the same identifier.
func TestKeyListAndSignatureAsGitHubs(t *testing.T) {
	s, err := devgithub.New()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	v := &secretscan.Verifier{Keys: secretscan.NewKeySource(secretscan.KeySourceOptions{URL: srv.URL + devgithub.KeysPath, Clock: clock.System{}})}
	body, _ := devgithub.Report(devgithub.Match{Token: "csk_live_0123456789abcdef0123456789abcdef", Type: devgithub.TokenType, URL: "https://github.com/o/r/blob/main/.env", Source: "content"})
	sig, err := s.Sign(body)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := v.Open(context.Background(), s.ID, sig, body)
	if err != nil || len(ms) != 1 || ms[0].Type != devgithub.TokenType {
		t.Fatalf("Open = %+v, %v", ms, err)
	}
	changed := append([]byte{}, body...)
	changed[10] ^= 1
	if err := v.Verify(context.Background(), s.ID, sig, changed); err == nil {
		t.Fatal("a changed body verified")
	}

	path := filepath.Join(t.TempDir(), "dev", "github-signing-key.pem")
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved key mode %v, %v; want 0600", fi.Mode(), err)
	}
	again, err := devgithub.Load(path)
	if err != nil || again.ID != s.ID {
		t.Fatalf("Load = %+v, %v", again, err)
	}

	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(srv.URL + devgithub.KeysPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Content-Type") != "application/json" || len(raw) == 0 {
		t.Fatalf("key list %s %q", resp.Header.Get("Content-Type"), raw)
	}
}
