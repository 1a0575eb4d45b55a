package e2e

// The secret scanning route end to end through the local gateway, against a
// stand-in for GitHub's key endpoint serving a P-256 key made in the test,
// with reports signed by it: revocation (or flagging), the owner's list, the
// labels, idempotency, refusals.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/apispec"
	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/shared/apikey"
	"github.com/keygate/keygate/shared/clock"
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
	apispec.Check(t, "POST", "/v1/secret-scanning/github", req.Header, resp.StatusCode, resp.Header, b) // docs/openapi.yaml
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

func listedKey(t *testing.T, c *testenv.Client, tok, prefix string) map[string]any {
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
			logs := &testenv.Buffer{}
			s := testenv.Stack(t, testenv.Options{Log: logs, Env: map[string]string{
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

			k := listedKey(t, c, tok, prefix)
			if k["leakedUrl"] != leakURL || k["leakedAt"] == nil {
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
				again := listedKey(t, c, tok, prefix)
				if again["updatedAt"] != k["updatedAt"] || again["revokedAt"] != k["revokedAt"] || again["leakedAt"] != k["leakedAt"] {
					t.Fatalf("second report changed the key: %v -> %v", k, again)
				}
			})

			if strings.Contains(logs.String(), key[apikey.PrefixLen:]) {
				t.Fatal("the logs show the reported key's secret part")
			}
			if !strings.Contains(logs.String(), "secret scanning report") {
				t.Fatalf("no report line in the logs")
			}
		})
	}
}

func envelopeCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Success *bool `json:"success"`
		Error   struct{ Code, Message string }
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Success == nil || *e.Success || e.Error.Message == "" {
		t.Fatalf("not an error envelope: %s", body)
	}
	return e.Error.Code
}

// Refusals through the gateway, each with its status and envelope, and a
// report past the API's usual 16 KiB body limit that is still accepted.
func TestSecretScanningRefusals(t *testing.T) {
	gh := secretscantest.New(t)
	signer := gh.AddKey(t, "gh-1")
	clk := clock.NewFixed(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	s := testenv.Stack(t, testenv.Options{Clock: clk, Env: map[string]string{"KEYGATE_GITHUB_KEYS_URL": gh.URL}})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "alice", Tier: "pro"})
	key, _ := c.CreateKey(tok, map[string]any{"name": "kept"})
	m := func(tok string) secretscantest.Match {
		return secretscantest.Match{Token: tok, Type: "keygate_api_key", URL: leakURL, Source: "content"}
	}
	report := secretscantest.Report(m(key))

	cases := []struct {
		name   string
		signer *secretscantest.Signer
		body   []byte
		status int
		code   string
	}{
		{"no signature", nil, report, 401, "Unauthorized"},
		{"wrong key identifier", &secretscantest.Signer{ID: "gh-unknown", Key: signer.Key}, report, 401, "Unauthorized"},
		{"signature by an unpublished key", secretscantest.NewSigner(t, "gh-1"), report, 401, "Unauthorized"},
		{"malformed JSON", signer, []byte(`[{"token":`), 400, "BadRequest"},
		{"duplicated member", signer, []byte(`[{"token":"` + key + `","token":"x","type":"t","url":"","source":"content"}]`), 400, "BadRequest"},
		{"body over 1 MiB", signer, append(bytes.Repeat([]byte(" "), secretscan.MaxReportBytes), report...), 400, "BadRequest"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			st, b := postReport(t, s.URL, tt.signer, tt.body)
			if st != tt.status || envelopeCode(t, b) != tt.code {
				t.Fatalf("%d %s, want %d %s", st, b, tt.status, tt.code)
			}
		})
	}
	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 200, "")

	t.Run("a report past 16 KiB is accepted", func(t *testing.T) {
		var ms []secretscantest.Match
		for i := 0; len(ms) < 200; i++ {
			ms = append(ms, m(fmt.Sprintf("csk_live_%032x", i)))
		}
		body := secretscantest.Report(ms...)
		if len(body) <= 16<<10 {
			t.Fatalf("report is only %d bytes", len(body))
		}
		st, b := postReport(t, s.URL, signer, body)
		if st != 200 || len(labels(t, b)) != 200 {
			t.Fatalf("%d %.200s", st, b)
		}
	})

	t.Run("a key GitHub publishes later is refused until a refetch is allowed", func(t *testing.T) {
		rotated := gh.AddKey(t, "gh-2")
		if st, b := postReport(t, s.URL, rotated, report); st != 401 {
			t.Fatalf("within the refetch interval: %d %s", st, b)
		}
		clk.Advance(secretscan.DefaultRefetchInterval)
		st, b := postReport(t, s.URL, rotated, secretscantest.Report(m("csk_live_00000000000000000000000000000000")))
		if st != 200 || labels(t, b)["csk_live_00000000000000000000000000000000"] != "false_positive" {
			t.Fatalf("after the interval: %d %s", st, b)
		}
	})

	t.Run("a key list that cannot be fetched for an unseen identifier is 503", func(t *testing.T) {
		gh.SetDown(true)
		defer gh.SetDown(false)
		clk.Advance(secretscan.DefaultRefetchInterval)
		third := secretscantest.NewSigner(t, "gh-3")
		st, b := postReport(t, s.URL, third, report)
		if st != 503 || envelopeCode(t, b) != "ServiceUnavailable" {
			t.Fatalf("%d %s", st, b)
		}
	})

	// None of it touched the key.
	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 200, "")
}

// TestGitHubPublishedSamplesThroughTheRoute posts each signed sample GitHub
// has published, byte for byte with its headers, to the route: each is
// accepted (200, its string a false positive), the oldest, without a source
// member, included; the same body with one byte changed is 401.
func TestGitHubPublishedSamplesThroughTheRoute(t *testing.T) {
	gh := secretscantest.New(t)
	gh.PublishSamples()
	s := testenv.Stack(t, testenv.Options{Env: map[string]string{"KEYGATE_GITHUB_KEYS_URL": gh.URL}})
	post := func(t *testing.T, keyID, sig, body string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest("POST", s.URL+"/v1/secret-scanning/github", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(secretscan.HeaderKeyID, keyID)
		req.Header.Set(secretscan.HeaderSignature, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		apispec.Check(t, "POST", "/v1/secret-scanning/github", req.Header, resp.StatusCode, resp.Header, b)
		return resp.StatusCode, b
	}
	for _, sample := range secretscantest.Samples {
		t.Run(sample.Name+" is accepted", func(t *testing.T) {
			st, b := post(t, sample.KeyID, sample.Signature, sample.Payload)
			want := `[{"token_raw":"some_token","token_type":"some_type","label":"false_positive"}]`
			if st != 200 || strings.TrimSpace(string(b)) != want {
				t.Fatalf("%d %s, want 200 %s", st, b, want)
			}
		})
		t.Run(sample.Name+" with one byte changed is 401", func(t *testing.T) {
			changed := strings.Replace(sample.Payload, "some_token", "some_tokeN", 1)
			if st, b := post(t, sample.KeyID, sample.Signature, changed); st != 401 {
				t.Fatalf("%d %s", st, b)
			}
		})
	}
}
