package browser

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keygate/keygate/shared/secretscan"
	"github.com/keygate/keygate/shared/secretscan/secretscantest"
)

const leakURL = "https://github.com/octo/repo/blob/0123abc/.env"

// createWorkspaceKey makes a key in workspace acme with a token and returns
// the workspace key object.
func createWorkspaceKey(t *testing.T, e *env, token, name string) map[string]any {
	t.Helper()
	status, _, m := callAPI(t, e, "POST", "/api/v1/workspaces/acme/api-keys", token, `{"name":`+jsString(name)+`}`)
	if status != 201 {
		t.Fatalf("create workspace key: %d %v", status, m)
	}
	return m
}

// openWorkspace signs in as email and shows the workspace tab.
func (tb *tab) openWorkspace(email string) {
	tb.t.Helper()
	tb.signIn(email)
	tb.do(chromedp.Click(chromedp.CSS(`[data-testid=workspace-tab]`)))
	tb.waitText(`#keys-title`, "Workspace acme")
}

// TestWorkspaceCreators: "Created by" says "you" for the signed-in member's
// own keys, the creator's email for another member's, and, for a key made
// with a token that carried no email, that it was another member (with the
// id in the tooltip), never a bare id.
func TestWorkspaceCreators(t *testing.T) {
	e := browserEnv(t)
	_, aliceID := signInTokens(t, e, "alice@example.com")
	_, bobID := signInTokens(t, e, "bob@example.com")
	suffix := time.Now().Format("150405.000")
	byAlice := createWorkspaceKey(t, e, aliceID, "Alice's deploy key "+suffix)
	byBob := createWorkspaceKey(t, e, bobID, "Bob's deploy key "+suffix)
	// A member's token without an email claim (a pool that does not share
	// it), signed as cognito-local signs.
	claims := tokenClaims(t, bobID)
	delete(claims, "email")
	claims["sub"] = "0d4f7a52-9c1e-4b7a-8f3e-2a6b5c4d3e2f"
	byBot := createWorkspaceKey(t, e, signCognitoLocal(t, claims), "CI bot key "+suffix)

	prefix := func(k map[string]any) string { return k["key_prefix"].(string) }
	tb := newTab(t, e)
	tb.openWorkspace("alice@example.com")
	for k, want := range map[string]string{prefix(byAlice): "you", prefix(byBob): "bob@example.com", prefix(byBot): "another member (0d4f7a52…)"} {
		if got := tb.waitText(card(k)+" [data-testid=created-by]", want); got != want {
			t.Errorf("%s: created by %q, want %q", k, got, want)
		}
	}
	if title := eval[string](tb, `document.querySelector(`+jsString(card(prefix(byBot))+" [data-testid=created-by]")+`).title`); !strings.Contains(title, "0d4f7a52-9c1e-4b7a-8f3e-2a6b5c4d3e2f") {
		t.Errorf("the id is not in the tooltip: %q", title)
	}
}

// TestLeakedWorkspaceKey: a workspace key GitHub reports in public code (a
// signed secret scanning report) is revoked, and the workspace list says it
// was found in public code and where.
func TestLeakedWorkspaceKey(t *testing.T) {
	e := browserEnv(t)
	_, aliceID := signInTokens(t, e, "alice@example.com")
	k := createWorkspaceKey(t, e, aliceID, "Leaky deploy key "+time.Now().Format("150405.000"))
	key, prefix := k["key"].(string), k["key_prefix"].(string)

	body := secretscantest.Report(secretscantest.Match{Token: key, Type: "keygate_api_key", URL: leakURL, Source: "content"})
	req, err := http.NewRequest("POST", e.stack.API.URL+"/v1/secret-scanning/github", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(secretscan.HeaderKeyID, e.github.ID)
	req.Header.Set(secretscan.HeaderSignature, e.github.Sign(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var labels []map[string]string
	if resp.StatusCode != 200 || json.Unmarshal(answer, &labels) != nil || len(labels) != 1 || labels[0]["label"] != "true_positive" {
		t.Fatalf("report: %d %s", resp.StatusCode, answer)
	}

	tb := newTab(t, e)
	tb.openWorkspace("bob@example.com")
	c := card(prefix)
	tb.waitText(c+" .badge", "Revoked")
	note := tb.waitText(c+" [data-testid=leaked]", "found in public code")
	if !strings.Contains(note, leakURL) {
		t.Errorf("the leak note %q does not say where", note)
	}
	if href := eval[string](tb, `document.querySelector(`+jsString(c+" [data-testid=leaked] a")+`)?.href ?? ""`); href != leakURL {
		t.Errorf("link to %q, want %q", href, leakURL)
	}
}
