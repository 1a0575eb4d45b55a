package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
)

// TestLogsCarryNoSecrets captures every log line of a create-use-revoke
// flow, failures included, and looks for any key, token, Authorization
// header or hash in it.
func TestLogsCarryNoSecrets(t *testing.T) {
	var buf testenv.Buffer
	oldDefault, oldOut := slog.Default(), log.Writer()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	log.SetOutput(&buf)
	defer func() { slog.SetDefault(oldDefault); log.SetOutput(oldOut) }()

	probe := &testenv.Probe{}
	s := testenv.Stack(t, testenv.Options{Log: &buf, DynamoDBOptions: []func(*dynamodb.Options){probe.Option()}})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "secretive", Tier: "pro"})
	idTok := testenv.Token(t, s, devissuer.Token{Sub: "secretive", Tier: "pro", Use: "id"})

	key, prefix := c.CreateKey(tok, map[string]any{"name": "log test", "dailyLimit": 2})
	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 200, "")
	testenv.Must(t, c.Do("GET", "/v1/api-keys", testenv.Bearer(key), nil), 403, "Forbidden")
	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 429, "RateLimitExceeded")
	testenv.Must(t, c.Do("GET", "/v1/api-keys", testenv.Bearer(idTok), nil), 200, "")
	wrong := prefix + strings.Repeat("a", 24)
	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(wrong), nil), 401, "Unauthorized")
	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(tok+"x"), nil), 401, "Unauthorized")
	probe.Fail("UpdateItem", true)
	testenv.Must(t, c.Do("PATCH", "/v1/api-keys/"+prefix, testenv.Bearer(tok), map[string]any{"name": "n"}), 503, "ServiceUnavailable")
	probe.Fail("UpdateItem", false)
	testenv.Must(t, c.Do("DELETE", "/v1/api-keys/"+prefix, testenv.Bearer(tok), nil), 200, "")
	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 401, "Unauthorized")

	logs := buf.String()
	if !strings.Contains(logs, prefix) || !strings.Contains(logs, `"msg":"request"`) {
		t.Fatalf("capture looks empty; logs:\n%s", logs)
	}
	sum := sha256.Sum256([]byte(key))
	secrets := map[string]string{
		"the key":                   key,
		"the key's secret part":     key[17:],
		"a wrong key":               wrong,
		"the access token":          tok,
		"the ID token":              idTok,
		"a token signature":         tok[strings.LastIndexByte(tok, '.')+1:],
		"a token payload":           strings.Split(tok, ".")[1],
		"an Authorization header":   "Bearer ",
		"the key hash (hex)":        hex.EncodeToString(sum[:]),
		"the key hash (base64)":     base64.StdEncoding.EncodeToString(sum[:]),
		"the key hash (base64 url)": base64.RawURLEncoding.EncodeToString(sum[:]),
	}
	for what, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain %s", what)
		}
	}
	if strings.Contains(strings.ToLower(logs), "authorization") {
		t.Errorf("logs mention an Authorization header")
	}
}

// TestOneErrorLinePerFailedRequest: during a store outage each failed
// request is logged as an error once, by the part that met the failure, not
// again by every layer it passes through.
func TestOneErrorLinePerFailedRequest(t *testing.T) {
	var buf testenv.Buffer
	probe := &testenv.Probe{}
	s := testenv.Stack(t, testenv.Options{Log: &buf, DynamoDBOptions: []func(*dynamodb.Options){probe.Option()}})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "o", Tier: "pro"})
	warm, _ := c.CreateKey(tok, map[string]any{"name": "warm"})
	cold, _ := c.CreateKey(tok, map[string]any{"name": "cold"})
	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(warm), nil), 200, "")

	errorLines := func() int {
		n := 0
		for _, line := range strings.Split(buf.String(), "\n") {
			if strings.Contains(line, `"level":"ERROR"`) {
				n++
			}
		}
		return n
	}
	cases := []struct {
		name, op, auth, path string
	}{
		{"the meter's write fails", "UpdateItem", warm, "/v1/usage"},
		{"the authorizer's read fails", "GetItem", cold, "/v1/usage"},
		{"a listing fails", "Query", tok, "/v1/api-keys"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := errorLines()
			probe.Fail(tc.op, true)
			testenv.Must(t, c.Do("GET", tc.path, testenv.Bearer(tc.auth), nil), 503, "ServiceUnavailable")
			probe.Fail(tc.op, false)
			if n := errorLines() - before; n != 1 {
				t.Fatalf("%d ERROR lines for one failed request:\n%s", n, buf.String())
			}
		})
	}
}
