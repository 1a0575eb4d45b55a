//go:build secretscan_e2e

// The secret scanning route end to end through the local gateway, against a
// stand-in for GitHub's key endpoint. It builds once the pieces the lead is
// adding are on main (keys.Service.ReportLeak, the public route
// POST /v1/secret-scanning/github in the route table with Route.Public, the
// adapter filling Request.Headers and honouring Response.Bare, the settings
// KEYGATE_GITHUB_KEYS_URL and KEYGATE_LEAKED_KEY_ACTION, and the list's field
// for the leak URL, assumed "leakUrl" below); then drop the build tag.
//
//	go test -tags secretscan_e2e ./e2e -run TestSecretScanning -v
package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/shared/secretscan"
	"github.com/keygate/keygate/shared/secretscan/secretscantest"
)

const leakURL = "https://github.com/octo/repo/blob/0123abc/.env"

// postReport sends body to the secret scanning route signed by s (nil: no
// signature headers) and returns the status and raw body.
func postReport(t *testing.T, base string, s *secretscantest.Signer, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/v1/secret-scanning/github", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if s != nil {
		req.Header.Set(secretscan.HeaderKeyID, s.ID)
		req.Header.Set(secretscan.HeaderSignature, s.Sign(body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	return resp.StatusCode, b
}

func labels(t *testing.T, body []byte) map[string]string {
	t.Helper()
	var fb []map[string]string
	if err := json.Unmarshal(body, &fb); err != nil {
		t.Fatalf("feedback is not a bare JSON array: %s", body)
	}
	out := map[string]string{}
	for _, f := range fb {
		if len(f) != 3 || f["token_type"] != "keygate_api_key" {
			t.Fatalf("feedback element %v", f)
		}
		out[f["token_raw"]] = f["label"]
	}
	return out
}

func listed(t *testing.T, c *testenv.Client, tok, prefix string) map[string]any {
	t.Helper()
	r := c.Do("GET", "/v1/api-keys?status=all", testenv.Bearer(tok), nil)
	testenv.Must(t, r, 200, "")
	for _, k := range r.Data()["keys"].([]any) {
		if k := k.(map[string]any); k["prefix"] == prefix {
			return k
		}
	}
	t.Fatalf("%s not listed: %s", prefix, r.Body)
	return nil
}

func TestSecretScanning(t *testing.T) {
	for _, mode := range []string{"revoke", "flag"} {
		t.Run(mode, func(t *testing.T) {
			gh := secretscantest.New(t)
			signer := gh.AddKey(t, "gh-1")
			s := testenv.Stack(t, testenv.Options{Env: map[string]string{
				"KEYGATE_GITHUB_KEYS_URL":   gh.URL,
				"KEYGATE_LEAKED_KEY_ACTION": mode,
			}})
			c := testenv.NewClient(t, s)
			tok := testenv.Token(t, s, devissuer.Token{Sub: "alice", Tier: "pro"})
			key, prefix := c.CreateKey(tok, map[string]any{"name": "leaky"})
			testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 200, "")
			unknown := "csk_live_00000000000000000000000000000000"
			report := secretscantest.Report(
				secretscantest.Match{Token: key, Type: "keygate_api_key", URL: leakURL, Source: "content"},
				secretscantest.Match{Token: unknown, Type: "keygate_api_key", URL: leakURL, Source: "commit"},
			)

			t.Run("unsigned or badly signed reports are 401 and change nothing", func(t *testing.T) {
				st, b := postReport(t, s.URL, nil, report)
				if st != 401 {
					t.Fatalf("unsigned: %d %s", st, b)
				}
				st, b = postReport(t, s.URL, secretscantest.NewSigner(t, "gh-1"), report)
				if st != 401 {
					t.Fatalf("forged: %d %s", st, b)
				}
				testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 200, "")
			})

			t.Run("a signed report labels the live key a true positive", func(t *testing.T) {
				st, b := postReport(t, s.URL, signer, report)
				if st != 200 {
					t.Fatalf("%d %s", st, b)
				}
				l := labels(t, b)
				if l[key] != "true_positive" || l[unknown] != "false_positive" || len(l) != 2 {
					t.Fatalf("labels %v", l)
				}
			})

			k := listed(t, c, tok, prefix)
			if k["leakUrl"] != leakURL {
				t.Fatalf("list does not show where the key leaked: %v", k)
			}
			if mode == "revoke" {
				testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 401, "Unauthorized")
				if k["status"] != "revoked" || k["revokedReason"] != "leaked" {
					t.Fatalf("list after a leak report: %v", k)
				}
			} else {
				testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 200, "")
				if k["status"] != "active" {
					t.Fatalf("flag mode revoked the key: %v", k)
				}
			}

			t.Run("the same report again changes nothing", func(t *testing.T) {
				st, b := postReport(t, s.URL, signer, report)
				if st != 200 {
					t.Fatalf("%d %s", st, b)
				}
				want := "false_positive" // revoked: no longer a live key
				if mode == "flag" {
					want = "true_positive" // still live, already flagged
				}
				if l := labels(t, b); l[key] != want {
					t.Fatalf("second report labels %v, want %s", l, want)
				}
				again := listed(t, c, tok, prefix)
				if again["updatedAt"] != k["updatedAt"] || again["revokedAt"] != k["revokedAt"] {
					t.Fatalf("second report changed the key: %v -> %v", k, again)
				}
			})
		})
	}
}
