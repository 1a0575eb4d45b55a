// Package testenv is the test harness: it starts one dynalite per test
// binary (or uses KEYGATE_TEST_DYNAMODB_ENDPOINT), gives each test its own
// table, and brings up the whole local stack for end-to-end tests. Tests use
// the real DynamoDB protocol and real RS256 tokens over a real JWKS; nothing
// here fakes DynamoDB.
package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keygate/keygate/internal/apispec"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/local/devstack"
	"github.com/keygate/keygate/local/dynalite"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/dynamo"
)

// EnvEndpoint names an already running DynamoDB-protocol server to use.
const EnvEndpoint = "KEYGATE_TEST_DYNAMODB_ENDPOINT"

var (
	once     sync.Once
	server   *dynalite.Server
	endpoint string
	startErr error
)

// Main runs a package's tests and stops the dynalite it started. Each after
// function gets the exit code and returns it, or another (CheckOperations).
func Main(m *testing.M, after ...func(code int) int) {
	code := m.Run()
	for _, f := range after {
		code = f(code)
	}
	server.Stop()
	os.Exit(code)
}

// Endpoint returns the DynamoDB endpoint of this test binary.
func Endpoint(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		if endpoint = os.Getenv(EnvEndpoint); endpoint != "" {
			return
		}
		server, startErr = dynalite.Start(context.Background(), dynalite.Options{})
		if startErr == nil {
			endpoint = server.Endpoint
		}
	})
	if startErr != nil {
		t.Fatalf("start dynalite: %v", startErr)
	}
	return endpoint
}

// StopDynalite stops this binary's dynalite (for tests of store failure).
// Tests after it in the same binary must not need the store.
func StopDynalite() { server.Stop() }

// TableName returns a fresh table name for t.
func TableName(t testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, t.Name())
	if len(name) > 200 {
		name = name[:200]
	}
	return name + "-" + hex.EncodeToString(b[:])
}

// Store returns a store on a new table of its own; opts adjust its client
// (a Probe's Option, say).
func Store(t testing.TB, opts ...func(*dynamodb.Options)) *dynamo.Store {
	t.Helper()
	ctx := context.Background()
	db, err := dynamo.NewClient(ctx, Endpoint(t), clientOptions(opts)...)
	if err != nil {
		t.Fatal(err)
	}
	s := dynamo.New(db, TableName(t))
	s.Timeout = storeTimeout
	if err := s.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// clientOptions adds, for a server named by EnvEndpoint, an option that
// quiets a warning Amazon DynamoDB Local causes: it sends no x-amz-crc32 on
// error responses, so the SDK, which then checks the body against 0, logs
// "failed to close HTTP response body ... checksum" for every refused
// conditional write (aws-sdk-go-v2 #3545). dynalite sends the header.
func clientOptions(opts []func(*dynamodb.Options)) []func(*dynamodb.Options) {
	if os.Getenv(EnvEndpoint) == "" {
		return opts
	}
	quiet := func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true }
	return append([]func(*dynamodb.Options){quiet}, opts...)
}

// storeTimeout is the deadline of a store call in tests: two shared cores run
// dynalite, the code under test and the test's own load, so a call may wait
// far longer than on DynamoDB. Tests of the deadline itself set a short one.
const storeTimeout = 10 * time.Second

// Options tune Stack.
type Options struct {
	Env   map[string]string // extra KEYGATE_* settings
	Clock clock.Clock       // default: a fixed clock at 2026-11-25T12:00:00Z
	Log   io.Writer         // default: t.Log
	// UnknownKIDRefresh overrides the verifier's refetch interval.
	UnknownKIDRefresh time.Duration
	// DynamoDBOptions adjust the stack's DynamoDB client.
	DynamoDBOptions []func(*dynamodb.Options)
	// OwnStore gives the stack a dynalite of its own (s.Dynalite), which a
	// test may pause or stop, instead of a table on the shared one.
	OwnStore bool
	// Product are product routes served beside keygate's own; nil serves
	// the example product (devstack.Example), as make dev does.
	Product []devstack.ProductRoute
	// ExtraIssuers are trusted after the stack's own dev issuer.
	ExtraIssuers []string
}

// Stack starts the whole local API on free ports with its own table (or its
// own dynalite, with OwnStore).
func Stack(t testing.TB, o Options) *devstack.Stack {
	t.Helper()
	if o.Clock == nil {
		o.Clock = clock.NewFixed(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	}
	var w io.Writer = o.Log
	if w == nil {
		w = tWriter{t}
	}
	env := map[string]string{config.EnvStoreTimeout: strconv.Itoa(int(storeTimeout / time.Millisecond))}
	if !o.OwnStore {
		env[config.EnvDynamoDBEndpoint] = Endpoint(t)
		env[config.EnvTable] = TableName(t)
	}
	for k, v := range o.Env {
		env[k] = v
	}
	// Every stack records the AWS calls of each function (Operations).
	dbOpts := append(slices.Clip(o.DynamoDBOptions), Operations.DynamoDBOption())
	if !o.OwnStore {
		dbOpts = clientOptions(dbOpts)
	}
	s, err := devstack.Start(context.Background(), devstack.Options{
		Getenv:            func(k string) string { return env[k] },
		Addr:              "127.0.0.1:0",
		IssuerAddr:        "127.0.0.1:0",
		Clock:             o.Clock,
		Log:               slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})),
		UnknownKIDRefresh: o.UnknownKIDRefresh,
		DynamoDBOptions:   dbOpts,
		Product:           o.Product,
		ExtraIssuers:      o.ExtraIssuers,
	})
	if err != nil {
		t.Fatalf("start local stack: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Client calls a local stack over HTTP.
type Client struct {
	T    testing.TB
	Base string
	HTTP *http.Client
}

// NewClient returns a client of s.
func NewClient(t testing.TB, s *devstack.Stack) *Client {
	return &Client{T: t, Base: s.URL, HTTP: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxIdleConns: 512},
	}}
}

// Response is a decoded answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any // when the body is an object
	Array  []any          // when the body is an array (the workspace API's list)
}

// Data is the envelope's data object.
func (r Response) Data() map[string]any {
	d, _ := r.JSON["data"].(map[string]any)
	return d
}

// Code is the envelope's error code, or "".
func (r Response) Code() string {
	e, _ := r.JSON["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// Message is the envelope's error message, or "".
func (r Response) Message() string {
	e, _ := r.JSON["error"].(map[string]any)
	c, _ := e["message"].(string)
	return c
}

// Do sends a request; auth is the whole Authorization header value ("" for
// none); body is sent as is when a string or []byte, else as JSON.
func (c *Client) Do(method, path, auth string, body any) Response {
	c.T.Helper()
	var h map[string]string
	if auth != "" {
		h = map[string]string{"Authorization": auth}
	}
	return c.DoWith(method, path, h, body)
}

// DoWith is Do with any request headers. Like Do it ends the test on a
// transport failure, so only the test's own goroutine may call it; other
// goroutines call Try.
func (c *Client) DoWith(method, path string, headers map[string]string, body any) Response {
	c.T.Helper()
	r, err := c.Try(method, path, headers, body)
	if err != nil {
		c.T.Fatal(err)
	}
	return r
}

// Try is DoWith for any goroutine: a request that cannot be sent or answered
// comes back as an error for the test's goroutine to report, instead of
// ending the test from a goroutine that is not the test's (testing forbids
// FailNow there). Checks of the answer (docs/openapi.yaml, JSON body,
// Content-Type) are reported with Errorf, which any goroutine may call.
func (c *Client) Try(method, path string, headers map[string]string, body any) (Response, error) {
	c.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return Response{}, fmt.Errorf("%s %s: encode the body: %w", method, path, err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.Base+path, rd)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out := Response{Status: resp.StatusCode, Header: resp.Header}
	if out.Body, err = io.ReadAll(resp.Body); err != nil {
		return Response{}, fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	apispec.Check(c.T, method, path, req.Header, resp.StatusCode, resp.Header, out.Body) // docs/openapi.yaml
	var v any
	if err := json.Unmarshal(out.Body, &v); err != nil {
		c.T.Errorf("%s %s: body is not JSON (%d): %q", method, path, resp.StatusCode, out.Body)
	}
	switch v := v.(type) {
	case map[string]any:
		out.JSON = v
	case []any:
		out.Array = v
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		c.T.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	return out, nil
}

// Bearer is "Bearer " + credential.
func Bearer(cred string) string { return "Bearer " + cred }

// Token mints a token from the stack's dev issuer.
func Token(t testing.TB, s *devstack.Stack, tok devissuer.Token) string {
	t.Helper()
	v, err := s.Issuer.Mint(tok)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Must fails t unless r has the status (and, for errors, the code).
func Must(t testing.TB, r Response, status int, code string) {
	t.Helper()
	if r.Status != status || (code != "" && r.Code() != code) {
		t.Fatalf("got %d %s, want %d %s; body %s", r.Status, r.Code(), status, code, r.Body)
	}
	if status < 300 && r.JSON["success"] != true {
		t.Fatalf("success envelope missing: %s", r.Body)
	}
	if status >= 400 && (r.JSON["success"] != false || r.Message() == "") {
		t.Fatalf("error envelope malformed: %s", r.Body)
	}
}

// MustBare is Must for the workspace API, whose successes are bare JSON
// (no envelope) while its errors are the envelope.
func MustBare(t testing.TB, r Response, status int, code string) {
	t.Helper()
	if r.Status != status || (code != "" && r.Code() != code) {
		t.Fatalf("got %d %s, want %d %s; body %s", r.Status, r.Code(), status, code, r.Body)
	}
	if status < 300 && r.JSON["success"] != nil {
		t.Fatalf("a workspace API success carries an envelope: %s", r.Body)
	}
	if status >= 400 && (r.JSON["success"] != false || r.Message() == "") {
		t.Fatalf("error envelope malformed: %s", r.Body)
	}
}

// CreateKey creates a key through the API and returns (key, prefix).
func (c *Client) CreateKey(token string, body any) (string, string) {
	c.T.Helper()
	r := c.Do("POST", "/v1/api-keys", Bearer(token), body)
	Must(c.T, r, 201, "")
	d := r.Data()
	return d["key"].(string), d["prefix"].(string)
}

// Errs collects failures from goroutines other than the test's (requests
// sent with Try), so that the test's own goroutine reports them: FailNow
// from another goroutine would not stop the test.
type Errs struct {
	mu   sync.Mutex
	list []error
}

// Add records err unless it is nil.
func (e *Errs) Add(err error) {
	if err == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, err)
}

// Check ends the test if anything was recorded; call it from the test's
// goroutine once the others are done.
func (e *Errs) Check(t testing.TB) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.list) > 0 {
		t.Fatalf("%d requests got no answer; first: %v", len(e.list), e.list[0])
	}
}

// InCI reports whether the tests run in CI (CI=true, as .ci/run and most CI
// services set it), where every prerequisite must be present.
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable skips t for a missing prerequisite (a tool, a file), or fails it
// in CI, where a skipped check would pass unnoticed.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true: "+format, args...)
	}
	t.Skipf(format, args...)
}
