//go:build linux

package rie_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keygate/keygate/examples/reports"
	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/eventsink"
	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/apikey"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/principal"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// EnvReport names a file to write the size and start-up table to (the bench
// script sets it).
const EnvReport = "KEYGATE_RIE_REPORT"

const (
	module = "github.com/keygate/keygate"
	// riePkg is the emulator, pinned by the tool directive in go.mod.
	riePkg = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

	buildTimeout      = 5 * time.Minute  // a cold build cache on 2 cores
	firstAnswerWithin = 20 * time.Second // process start to first answer
	invokeTimeout     = 15 * time.Second // one invocation over HTTP
	functionTimeout   = 10               // seconds; the emulator's AWS_LAMBDA_FUNCTION_TIMEOUT
)

// lambdas are the deployed functions: the name infra/ and `make build` use
// and the main package.
var lambdas = []struct{ name, pkg string }{
	{"authorizer", module + "/authorizer/lambda"},
	{"createkey", module + "/functions/createkey"},
	{"listkeys", module + "/functions/listkeys"},
	{"updatekey", module + "/functions/updatekey"},
	{"revokekey", module + "/functions/revokekey"},
	{"usage", module + "/functions/usage"},
	{"rotatekey", module + "/functions/rotatekey"},
	{"wslistkeys", module + "/functions/wslistkeys"},
	{"wscreatekey", module + "/functions/wscreatekey"},
	{"wsrevokekey", module + "/functions/wsrevokekey"},
	{"wsrotatekey", module + "/functions/wsrotatekey"},
	{"secretscan", module + "/functions/secretscan"},
	{"pretokengen", module + "/functions/pretokengen"},
	{"scopes", module + "/functions/scopes"},
	{"auditlog", module + "/functions/auditlog"},
	{"wsauditlog", module + "/functions/wsauditlog"},
	{"auditpublish", module + "/functions/auditpublish"},
	{"auditsweep", module + "/functions/auditsweep"},
	{"keyexpiring", module + "/functions/keyexpiring"},
	// The example product's Lambda, written with the guard package.
	{"reports", module + "/examples/reports/cmd/reports"},
}

// Production build flags (`make build`), less the target architecture:
// these binaries must run here.
var buildFlags = []string{"-trimpath", "-buildvcs=false", "-tags", "lambda.norpc", "-ldflags", "-s -w"}

// measurement is one row of the report.
type measurement struct {
	name        string
	size        int64
	firstAnswer time.Duration // process start to first answered invocation
	init        string        // the runtime's init as the emulator reports it
}

func TestPackagedLambdasUnderEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("packaging smoke test skipped in -short mode: it builds every Lambda and the emulator and runs them under the emulator")
	}
	ctx := context.Background()

	buildStart := time.Now()
	bins := buildAll(t)
	buildTime := time.Since(buildStart)

	store := testenv.Store(t)
	svc := keys.Service{Store: store, Limits: config.DefaultLimits(), Clock: clock.System{}}
	name := "smoke-direct"
	direct, err := svc.Create(ctx, principal.Principal{Sub: "u1", Tier: principal.Pro, Method: principal.ViaJWT},
		keys.User("u1"), keys.CreateInput{Name: &name})
	if err != nil {
		t.Fatalf("create a key through shared/keys: %v", err)
	}
	unknown, err := apikey.New()
	if err != nil {
		t.Fatal(err)
	}

	env := []string{
		config.EnvTable + "=" + store.Table,
		config.EnvDynamoDBEndpoint + "=" + testenv.Endpoint(t),
		// Nothing listens there: the verifier starts without a JWKS.
		config.EnvIssuer + "=http://" + closedAddr(t),
		config.EnvClientIDs + "=smoke-client",
		"AWS_REGION=us-east-1",
		// No positive key cache: the revokekey step checks that the
		// authorizer binary itself refuses the revoked key at once (with the
		// cache on, the meter refuses it; e2e tests cover that path).
		config.EnvKeyCache + "=0",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(functionTimeout),
		"PATH=" + os.Getenv("PATH"),
	}

	var (
		mu   sync.Mutex
		rows []measurement
	)
	// start runs one binary under the emulator and sends ev until it
	// answers; owner is the test whose end stops the process.
	start := func(owner *testing.T, name string, ev []byte) (*emulator, answer) {
		owner.Helper()
		lenv := append(slices.Clip(env), "AWS_LAMBDA_FUNCTION_NAME=keygate-"+name)
		if name == "reports" {
			// What the CDK construct sets for a product Lambda: its routes.
			lenv = append(lenv, config.EnvRoutes+"="+route.Encode(reports.Routes))
		}
		e := startEmulator(owner, bins.rie, bins.lambda[name], lenv)
		a, took := e.firstAnswer(owner, ev)
		fi, err := os.Stat(bins.lambda[name])
		if err != nil {
			owner.Fatal(err)
		}
		mu.Lock()
		rows = append(rows, measurement{name: name, size: fi.Size(), firstAnswer: took, init: e.initDuration()})
		mu.Unlock()
		return e, a
	}
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		report(t, buildTime, bins.rie, rows)
	}()

	authEvent := func(key string) []byte {
		return event(t, "authorizer-request.json", map[string]string{"KEY": key})
	}

	// The authorizer lives for the whole test: it also checks the keys that
	// the route binaries create and revoke.
	auth, first := start(t, "authorizer", authEvent(direct.Secret.String()))
	t.Run("authorizer", func(t *testing.T) {
		mustAllow(t, first, direct.Key.Prefix, "smoke-direct")
		mustUnauthorized(t, auth.invoke(t, authEvent(unknown.String())))
	})

	var created string // the key createkey returned
	t.Run("createkey", func(t *testing.T) {
		_, a := start(t, "createkey", event(t, "createkey-proxy.json", nil))
		r := mustProxy(t, a, 201)
		key, _ := r.data()["key"].(string)
		if !strings.HasPrefix(key, apikey.Live) {
			t.Fatalf("createkey: data.key %q is not a %s key; body %s", key, apikey.Live, a.body)
		}
		if n, _ := r.data()["name"].(string); n != "smoke" {
			t.Errorf("createkey: data.name %q, want smoke", n)
		}
		created = key
		// The key the createkey binary stored authenticates through the
		// authorizer binary.
		mustAllow(t, auth.invoke(t, authEvent(key)), key[:apikey.PrefixLen], "smoke")
	})

	t.Run("listkeys", func(t *testing.T) {
		_, a := start(t, "listkeys", event(t, "listkeys-proxy.json", nil))
		r := mustProxy(t, a, 200)
		var prefixes []string
		list, _ := r.data()["keys"].([]any)
		for _, k := range list {
			m, _ := k.(map[string]any)
			p, _ := m["prefix"].(string)
			prefixes = append(prefixes, p)
		}
		if !slices.Contains(prefixes, direct.Key.Prefix) {
			t.Errorf("listkeys: the key created through shared/keys (%s) is not listed; body %s", direct.Key.Prefix, a.body)
		}
		if created != "" && !slices.Contains(prefixes, created[:apikey.PrefixLen]) {
			t.Errorf("listkeys: the key createkey made (%s) is not listed; body %s", created[:apikey.PrefixLen], a.body)
		}
	})

	t.Run("updatekey", func(t *testing.T) {
		_, a := start(t, "updatekey", event(t, "updatekey-proxy.json", map[string]string{"PREFIX": direct.Key.Prefix}))
		r := mustProxy(t, a, 200)
		if n, _ := r.data()["name"].(string); n != "smoke-renamed" {
			t.Errorf("updatekey: data.name %q, want smoke-renamed; body %s", n, a.body)
		}
	})

	t.Run("revokekey", func(t *testing.T) {
		if created == "" {
			t.Skip("createkey made no key to revoke")
		}
		_, a := start(t, "revokekey", event(t, "revokekey-proxy.json", map[string]string{"PREFIX": created[:apikey.PrefixLen]}))
		mustProxy(t, a, 200)
		// The revocation is seen by the authorizer binary at once.
		mustUnauthorized(t, auth.invoke(t, authEvent(created)))
	})

	t.Run("usage", func(t *testing.T) {
		_, a := start(t, "usage", event(t, "usage-proxy.json", nil))
		r := mustProxy(t, a, 200)
		if _, ok := r.data()["keys"].([]any); !ok {
			t.Errorf("usage: data.keys is not a list; body %s", a.body)
		}
	})

	// The round-2 Lambdas: each starts from its bootstrap and answers one
	// event the way API Gateway (or Cognito) sends it.
	member := principal.Principal{Sub: "u2", Tier: principal.Team, TeamID: "ws-smoke", Method: principal.ViaJWT}
	owner := principal.Principal{Sub: "u1", Tier: principal.Pro, Method: principal.ViaJWT}
	proxy := func(method, resource, path string, params map[string]string, p *principal.Principal, body string) []byte {
		ev := events.APIGatewayProxyRequest{
			Resource: resource, Path: path, HTTPMethod: method, PathParameters: params, Body: body,
			Headers:        map[string]string{"Content-Type": "application/json"},
			RequestContext: events.APIGatewayProxyRequestContext{RequestID: "rie-" + method, Stage: "prod", ResourcePath: resource},
		}
		if p != nil {
			ev.RequestContext.Authorizer = map[string]any{}
			for k, v := range p.Context() {
				ev.RequestContext.Authorizer[k] = v
			}
			ev.RequestContext.Authorizer["principalId"] = p.ID()
		}
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// The example product's bootstrap: guard.Start reads its routes from the
	// environment and meters the key's request at the route's cost (5) on
	// the table, with the principal the authorizer's context carries.
	t.Run("reports", func(t *testing.T) {
		p := direct.Key.Principal()
		ev := proxy("POST", "/v1/reports", "/v1/reports", nil, &p, `{"title":"smoke"}`)
		_, a := start(t, "reports", ev)
		r := mustProxy(t, a, 201)
		report, _ := r.data()["report"].(map[string]any)
		caller, _ := r.data()["caller"].(map[string]any)
		if report["title"] != "smoke" || caller["keyPrefix"] != direct.Key.Prefix || caller["kind"] != "key" {
			t.Fatalf("reports: body %s", a.body)
		}
		if !bytes.Contains(a.body, []byte(`"X-RateLimit-Remaining":"`)) {
			t.Fatalf("reports: no rate-limit headers in %s", a.body)
		}
	})

	round2 := []struct {
		name   string
		ev     []byte
		status int
	}{
		{"rotatekey", proxy("POST", "/v1/api-keys/{prefix}/rotate", "/v1/api-keys/"+direct.Key.Prefix+"/rotate",
			map[string]string{"prefix": direct.Key.Prefix}, &owner, `{"gracePeriodSeconds":0}`), 201},
		{"wslistkeys", proxy("GET", "/api/v1/workspaces/{id}/api-keys", "/api/v1/workspaces/ws-smoke/api-keys",
			map[string]string{"id": "ws-smoke"}, &member, ""), 200},
		{"wscreatekey", proxy("POST", "/api/v1/workspaces/{id}/api-keys", "/api/v1/workspaces/ws-smoke/api-keys",
			map[string]string{"id": "ws-smoke"}, &member, `{"name":"smoke"}`), 201},
		{"wsrevokekey", proxy("DELETE", "/api/v1/workspaces/{id}/api-keys/{keyId}", "/api/v1/workspaces/ws-smoke/api-keys/00000000-0000-4000-8000-000000000000",
			map[string]string{"id": "ws-smoke", "keyId": "00000000-0000-4000-8000-000000000000"}, &member, ""), 404},
		{"wsrotatekey", proxy("POST", "/api/v1/workspaces/{id}/api-keys/{keyId}/rotate", "/api/v1/workspaces/other/api-keys/00000000-0000-4000-8000-000000000000/rotate",
			map[string]string{"id": "other", "keyId": "00000000-0000-4000-8000-000000000000"}, &member, ""), 404},
		// No signature headers: refused before anything is read (no key list fetched).
		{"secretscan", proxy("POST", "/v1/secret-scanning/github", "/v1/secret-scanning/github", nil, nil, `[]`), 401},
	}
	for _, tc := range round2 {
		t.Run(tc.name, func(t *testing.T) {
			_, a := start(t, tc.name, tc.ev)
			mustStatus(t, a, tc.status)
		})
	}
	t.Run("pretokengen", func(t *testing.T) {
		ev, err := os.ReadFile(filepath.Join("..", "..", "shared", "cognito", "pretoken", "testdata", "v2-authentication-pro.json"))
		if err != nil {
			t.Fatal(err)
		}
		_, a := start(t, "pretokengen", ev)
		if a.status != http.StatusOK || !bytes.Contains(a.body, []byte(`"custom:tier":"pro"`)) || !bytes.Contains(a.body, []byte("accessTokenGeneration")) {
			t.Fatalf("pretokengen: HTTP %d %s, want the tier copied into the access token's claims", a.status, a.body)
		}
	})

	// The round-3 Lambdas: the scopes list, the two audit logs (which show
	// what the bootstraps above recorded), and the jobs: the stream's
	// publisher to an EventBridge-protocol sink, the sweep and the expiry
	// notices, each invoked as its trigger invokes it.
	t.Run("scopes", func(t *testing.T) {
		_, a := start(t, "scopes", proxy("GET", "/v1/scopes", "/v1/scopes", nil, &owner, ""))
		if list, _ := mustProxy(t, a, 200).data()["scopes"].([]any); len(list) == 0 {
			t.Fatalf("scopes: no scopes in %s", a.body)
		}
	})
	t.Run("auditlog", func(t *testing.T) {
		_, a := start(t, "auditlog", proxy("GET", "/v1/audit-log", "/v1/audit-log", nil, &owner, ""))
		list, _ := mustProxy(t, a, 200).data()["events"].([]any)
		var actions []string
		for _, e := range list {
			m, _ := e.(map[string]any)
			actions = append(actions, fmt.Sprint(m["action"]))
		}
		if !slices.Contains(actions, "key.rotated") || !slices.Contains(actions, "key.updated") {
			t.Fatalf("auditlog: the rotatekey and updatekey bootstraps' records are not listed: %q; body %s", actions, a.body)
		}
	})
	t.Run("wsauditlog", func(t *testing.T) {
		_, a := start(t, "wsauditlog", proxy("GET", "/api/v1/workspaces/{id}/audit-log", "/api/v1/workspaces/ws-smoke/audit-log",
			map[string]string{"id": "ws-smoke"}, &member, ""))
		body := mustStatus(t, a, 200)
		if !strings.Contains(body, `"action":"key.created"`) || !strings.Contains(body, `"next_cursor"`) {
			t.Fatalf("wsauditlog: the wscreatekey bootstrap's record is not listed: %s", body)
		}
	})
	t.Run("auditpublish", func(t *testing.T) {
		sink := &eventsink.Sink{}
		srv := httptest.NewServer(sink)
		defer srv.Close()
		lenv := append(slices.Clip(env), "AWS_LAMBDA_FUNCTION_NAME=keygate-auditpublish",
			config.EnvEventBus+"=keygate-rie", config.EnvEventBridgeURL+"="+srv.URL)
		e := startEmulator(t, bins.rie, bins.lambda["auditpublish"], lenv)
		a, took := e.firstAnswer(t, event(t, "auditpublish-stream.json", nil))
		fi, err := os.Stat(bins.lambda["auditpublish"])
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		rows = append(rows, measurement{name: "auditpublish", size: fi.Size(), firstAnswer: took, init: e.initDuration()})
		mu.Unlock()
		// A null or empty list: the whole batch succeeded (Lambda's partial batch response).
		if a.status != http.StatusOK || bytes.Contains(a.body, []byte("itemIdentifier")) || bytes.Contains(a.body, []byte("errorMessage")) {
			t.Fatalf("auditpublish: HTTP %d %s, want no failures", a.status, a.body)
		}
		if got := sink.Recent(); len(got) != 1 || got[0].DetailType != "key.leaked" || got[0].Bus != "keygate-rie" {
			t.Fatalf("auditpublish: the sink got %+v, want the one final record on the bus", got)
		}
	})
	for _, job := range []string{"auditsweep", "keyexpiring"} {
		t.Run(job, func(t *testing.T) {
			_, a := start(t, job, event(t, "scheduled.json", nil))
			if a.status != http.StatusOK || bytes.Contains(a.body, []byte("errorMessage")) {
				t.Fatalf("%s: HTTP %d %s", job, a.status, a.body)
			}
		})
	}
}

// binaries are the build's outputs.
type binaries struct {
	rie    string
	lambda map[string]string // name → .../<name>/bootstrap
}

// buildAll builds the six bootstraps and the pinned emulator in one go build
// invocation, so dependencies are compiled once and the two cores are shared
// by the go command's own scheduler.
func buildAll(t *testing.T) binaries {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "out") + string(filepath.Separator)
	args := append([]string{"build", "-o", out}, buildFlags...)
	for _, l := range lambdas {
		args = append(args, l.pkg)
	}
	args = append(args, riePkg)
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	t.Logf("built %d bootstraps and aws-lambda-rie for linux/%s in %.1f s", len(lambdas), runtime.GOARCH, time.Since(start).Seconds())

	bins := binaries{rie: filepath.Join(dir, "aws-lambda-rie"), lambda: map[string]string{}}
	if err := os.Rename(filepath.Join(out, "aws-lambda-rie"), bins.rie); err != nil {
		t.Fatal(err)
	}
	for _, l := range lambdas {
		bootstrap := filepath.Join(dir, l.name, "bootstrap")
		if err := os.MkdirAll(filepath.Dir(bootstrap), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(out, filepath.Base(l.pkg)), bootstrap); err != nil {
			t.Fatal(err)
		}
		bins.lambda[l.name] = bootstrap
	}
	return bins
}

// emulator is one aws-lambda-rie process running one bootstrap.
type emulator struct {
	name    string
	url     string
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{} // closed when the process has exited
	out     *testenv.Buffer
	client  *http.Client

	mu       sync.Mutex
	children map[int]bool // the bootstrap (and anything else the emulator started)
}

// startEmulator starts the emulator on free ports with the bootstrap as its
// runtime, in a process group of its own; t's cleanup kills the emulator and
// the bootstrap (which the emulator puts in a group of its own).
func startEmulator(t *testing.T, rie, bootstrap string, env []string) *emulator {
	t.Helper()
	ports := freePorts(t, 2)
	e := &emulator{
		name:     filepath.Base(filepath.Dir(bootstrap)),
		url:      "http://" + ports[0] + "/2015-03-31/functions/function/invocations",
		done:     make(chan struct{}),
		out:      &testenv.Buffer{},
		client:   &http.Client{Timeout: invokeTimeout},
		children: map[int]bool{},
	}
	// Options first: anything the emulator does not know is taken as the
	// program to run.
	e.cmd = exec.Command(rie,
		"--runtime-interface-emulator-address", ports[0],
		"--runtime-api-address", ports[1],
		"--log-level", "info",
		bootstrap)
	e.cmd.Env = env
	e.cmd.Dir = filepath.Dir(bootstrap) // as /var/task on Lambda
	e.cmd.Stdout = e.out
	e.cmd.Stderr = e.out
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	e.started = time.Now()
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("start aws-lambda-rie for %s: %v", e.name, err)
	}
	go func() {
		_ = e.cmd.Wait()
		close(e.done)
	}()
	t.Cleanup(func() {
		e.stop(t)
		if t.Failed() {
			t.Logf("%s: output of aws-lambda-rie and its bootstrap:\n%s", e.name, e.out.String())
		}
	})
	return e
}

// stop kills the bootstrap's group (the emulator gives the runtime a group
// of its own) and then the emulator's, so the emulator still reaps its child
// and nothing is left behind, not even a zombie. It fails t if either
// outlives SIGKILL by 5 s.
func (e *emulator) stop(t *testing.T) {
	e.noteChildren()
	e.mu.Lock()
	children := make([]int, 0, len(e.children))
	for c := range e.children {
		children = append(children, c)
	}
	e.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for _, c := range children {
		_ = syscall.Kill(-c, syscall.SIGKILL)
		_ = syscall.Kill(c, syscall.SIGKILL)
	}
	for _, c := range children {
		for alive(c) {
			if time.Now().After(deadline) {
				t.Errorf("%s: the bootstrap (pid %d) is still running 5 s after SIGKILL", e.name, c)
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		// Give the emulator a moment to reap it.
		for reap := time.Now().Add(time.Second); exists(c) && time.Now().Before(reap); {
			time.Sleep(5 * time.Millisecond)
		}
	}
	pid := e.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
		t.Errorf("%s: aws-lambda-rie (pid %d) did not exit within 5 s of SIGKILL", e.name, pid)
	}
}

// noteChildren records the emulator's child processes (the bootstrap) while
// they are still its children.
func (e *emulator) noteChildren() {
	pid := e.cmd.Process.Pid
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range childrenOf(pid) {
		e.children[c] = true
	}
}

// answer is the emulator's HTTP answer to one invocation.
type answer struct {
	status int
	body   []byte
}

// firstAnswer sends ev until the emulator answers: connection refused means
// it is not listening yet (nothing was delivered, so no invocation is lost or
// repeated). It returns the answer and the time from process start.
func (e *emulator) firstAnswer(t *testing.T, ev []byte) (answer, time.Duration) {
	t.Helper()
	deadline := e.started.Add(firstAnswerWithin)
	for {
		a, err := e.post(ev)
		if err == nil {
			took := time.Since(e.started)
			e.noteChildren()
			return a, took
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("%s: invoke: %v", e.name, err)
		}
		select {
		case <-e.done:
			t.Fatalf("%s: aws-lambda-rie exited before answering (%v)", e.name, e.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no answer within %s of process start: %v", e.name, firstAnswerWithin, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// invoke sends ev to a running emulator.
func (e *emulator) invoke(t *testing.T, ev []byte) answer {
	t.Helper()
	a, err := e.post(ev)
	if err != nil {
		t.Fatalf("%s: invoke: %v", e.name, err)
	}
	return a
}

func (e *emulator) post(ev []byte) (answer, error) {
	resp, err := e.client.Post(e.url, "application/json", bytes.NewReader(ev))
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, body: b.Bytes()}, nil
}

// initRE finds the emulator's INIT REPORT line: the time from its exec of
// the bootstrap to the runtime's first request for an event. (The "Init
// Duration" of its REPORT line times only its own dispatch, not the runtime.)
var initRE = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// initDuration is the runtime's init time as the emulator reports it.
func (e *emulator) initDuration() string {
	deadline := time.Now().Add(time.Second)
	for {
		if m := initRE.FindStringSubmatch(e.out.String()); m != nil {
			if ms, err := strconv.ParseFloat(m[1], 64); err == nil {
				return fmt.Sprintf("%.1f ms", ms)
			}
			return m[1] + " ms"
		}
		if time.Now().After(deadline) {
			return "?"
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// authorizerResponse is an API Gateway authorizer answer.
type authorizerResponse struct {
	PrincipalID    string `json:"principalId"`
	PolicyDocument struct {
		Version   string `json:"Version"`
		Statement []struct {
			Action   []string `json:"Action"`
			Effect   string   `json:"Effect"`
			Resource []string `json:"Resource"`
		} `json:"Statement"`
	} `json:"policyDocument"`
	Context      map[string]any `json:"context"`
	ErrorMessage string         `json:"errorMessage"`
}

const stageARN = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*"

func mustAllow(t *testing.T, a answer, prefix, keyName string) {
	t.Helper()
	var r authorizerResponse
	if a.status != http.StatusOK || json.Unmarshal(a.body, &r) != nil {
		t.Fatalf("authorizer: HTTP %d %s, want 200 and a policy", a.status, a.body)
	}
	if r.ErrorMessage != "" {
		t.Fatalf("authorizer: error %q, want an Allow policy; body %s", r.ErrorMessage, a.body)
	}
	if r.PrincipalID != "u1" {
		t.Errorf("authorizer: principalId %q, want u1", r.PrincipalID)
	}
	st := r.PolicyDocument.Statement
	if r.PolicyDocument.Version != "2012-10-17" || len(st) != 1 || st[0].Effect != "Allow" ||
		!slices.Equal(st[0].Action, []string{"execute-api:Invoke"}) || !slices.Equal(st[0].Resource, []string{stageARN}) {
		t.Errorf("authorizer: policy %+v, want Allow execute-api:Invoke on %s", r.PolicyDocument, stageARN)
	}
	want := map[string]string{"authMethod": "key", "sub": "u1", "tier": "pro", "keyPrefix": prefix, "keyName": keyName, "dailyLimit": "250"}
	for k, v := range want {
		if got, _ := r.Context[k].(string); got != v {
			t.Errorf("authorizer: context.%s = %v, want %q; body %s", k, r.Context[k], v, a.body)
		}
	}
}

func mustUnauthorized(t *testing.T, a answer) {
	t.Helper()
	var r authorizerResponse
	if a.status != http.StatusOK || json.Unmarshal(a.body, &r) != nil || r.ErrorMessage != "Unauthorized" || r.PrincipalID != "" {
		t.Fatalf("authorizer: HTTP %d %s, want 200 with errorMessage Unauthorized", a.status, a.body)
	}
}

// proxyResult is a Lambda proxy answer with its envelope decoded.
type proxyResult struct {
	Success bool `json:"success"`
	Data    any  `json:"data"`
}

func (r proxyResult) data() map[string]any {
	m, _ := r.Data.(map[string]any)
	return m
}

func mustProxy(t *testing.T, a answer, status int) proxyResult {
	t.Helper()
	body := mustStatus(t, a, status)
	var r proxyResult
	if err := json.Unmarshal([]byte(body), &r); err != nil || !r.Success {
		t.Fatalf("body %s, want the success envelope", body)
	}
	return r
}

// mustStatus checks a proxy answer's status and JSON content type and
// returns its body (an envelope, a bare workspace-API body, or an error).
func mustStatus(t *testing.T, a answer, status int) string {
	t.Helper()
	var resp struct {
		StatusCode   int               `json:"statusCode"`
		Headers      map[string]string `json:"headers"`
		Body         string            `json:"body"`
		ErrorMessage string            `json:"errorMessage"`
	}
	if a.status != http.StatusOK || json.Unmarshal(a.body, &resp) != nil || resp.ErrorMessage != "" {
		t.Fatalf("HTTP %d %s, want 200 and a proxy response", a.status, a.body)
	}
	if resp.StatusCode != status {
		t.Fatalf("statusCode %d, want %d; body %s", resp.StatusCode, status, resp.Body)
	}
	if ct := resp.Headers["Content-Type"]; ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if !json.Valid([]byte(resp.Body)) {
		t.Fatalf("body %q is not JSON", resp.Body)
	}
	return resp.Body
}

// event reads a recorded event from testdata/ and fills its {{NAME}}
// placeholders.
func event(t *testing.T, file string, vars map[string]string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	if i := strings.Index(s, "{{"); i >= 0 {
		t.Fatalf("%s: placeholder left unfilled at %q", file, s[i:min(len(s), i+20)])
	}
	if !json.Valid([]byte(s)) {
		t.Fatalf("%s: not valid JSON after substitution", file)
	}
	return []byte(s)
}

// report logs the table and writes it to $KEYGATE_RIE_REPORT when set.
func report(t *testing.T, buildTime time.Duration, rie string, rows []measurement) {
	t.Helper()
	if len(rows) == 0 {
		return
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Lambda packaging smoke test: linux/%s, %s, go build %s; under aws-lambda-rie\n",
		runtime.GOARCH, runtime.Version(), strings.Join(quoteArgs(buildFlags), " "))
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "lambda\tbootstrap bytes\tstart to first answer\truntime init (emulator)\t")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%d\t%.1f ms\t%s\t\n", r.name, r.size, float64(r.firstAnswer.Microseconds())/1000, r.init)
	}
	_ = w.Flush()
	if fi, err := os.Stat(rie); err == nil {
		fmt.Fprintf(&b, "aws-lambda-rie: %d bytes; build of the %d bootstraps and the emulator: %.1f s\n", fi.Size(), len(lambdas), buildTime.Seconds())
	}
	t.Logf("\n%s", b.String())
	if path := os.Getenv(EnvReport); path != "" {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Errorf("write %s=%s: %v", EnvReport, path, err)
		}
	}
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsRune(a, ' ') {
			a = strconv.Quote(a)
		}
		out[i] = a
	}
	return out
}

// freePorts returns n distinct free 127.0.0.1 addresses, holding them all
// until each is chosen.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs
}

// closedAddr is an address where nothing listens.
func closedAddr(t *testing.T) string {
	return freePorts(t, 1)[0]
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, ok := procStat(c); ok && ppid == pid {
			out = append(out, c)
		}
	}
	return out
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	_, state, ok := procStat(pid)
	return ok && state != "Z" && state != "X"
}

// exists reports whether pid is in /proc at all (a zombie is).
func exists(pid int) bool {
	_, _, ok := procStat(pid)
	return ok
}

// procStat reads the parent and state of pid from /proc/<pid>/stat.
func procStat(pid int) (ppid int, state string, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, "", false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces and parentheses
	if i < 0 {
		return 0, "", false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, "", false
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[0], err == nil
}
