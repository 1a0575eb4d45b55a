// Package cognitolocal runs cognito-local, an open-source emulator of the
// Amazon Cognito user pool API from npm (pinned in tools/package-lock.json),
// as a child process on loopback, and sets up a user pool, an app client and
// users in it through the real AWS SDK. Local mode and the browser tests use
// it so that the console signs in with the very same Cognito client library
// as against a deployed pool. Nothing here talks to AWS.
//
// What cognito-local 5.3.0 really does, read in its source
// (lib/targets/initiateAuth.js, lib/services/tokenGenerator.js,
// lib/services/lambda.js, lib/server/server.js) and checked by this package's
// tests:
//
//   - InitiateAuth supports USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH only;
//     USER_SRP_AUTH is answered with a 500 "unsupported". A browser signs in
//     here with USER_PASSWORD_AUTH (the deployed console uses SRP).
//   - Tokens are RS256, signed with one key pair shipped inside the npm
//     package (kid "CognitoLocal"): anyone can mint tokens it would accept, so
//     its issuer must never be trusted outside loopback. iss is
//     <TokenConfig.IssuerDomain>/<poolId> (set here to the address it listens
//     on); the JWKS is served at <iss>/.well-known/jwks.json.
//   - Access tokens carry sub, client_id, token_use "access", scope, username,
//     event_id, jti, iat, exp (and cognito:groups); never a custom attribute.
//     ID tokens carry aud (the client id), token_use "id", email,
//     email_verified, cognito:username and every custom:* attribute, whatever
//     the client's ReadAttributes say.
//   - The PreTokenGeneration trigger is called through the Lambda Invoke API
//     (POST <LambdaClient.endpoint>/2015-03-31/functions/<name>/invocations)
//     on Authentication and RefreshTokens with a V1-shaped event whose version
//     is "0" (request.userAttributes, response.claimsOverrideDetails). Only
//     response.claimsOverrideDetails is read, and it is applied to the ID token
//     only: a V2 answer (claimsAndScopeOverrideDetails) changes nothing, and an
//     access token from cognito-local never carries custom:tier.
package cognitolocal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/keygate/keygate/local/nodeproc"
)

// Options for Start.
type Options struct {
	// Dir keeps cognito-local's data (its .cognito folder) between runs;
	// empty uses a temporary folder removed by Stop.
	Dir string
	// Addr to listen on, host:port; default 127.0.0.1 on a free port.
	Addr string
	// LambdaEndpoint is where cognito-local invokes Lambda triggers: a server
	// of the Lambda Invoke API path. Empty: no triggers.
	LambdaEndpoint string
	// PreTokenGeneration is the function name of that trigger.
	PreTokenGeneration string
	// Output receives cognito-local's log; nil discards it (it is kept for
	// the error when the process fails to start).
	Output io.Writer
}

// Server is a running cognito-local.
type Server struct {
	Endpoint string // e.g. http://127.0.0.1:9229

	proc   *nodeproc.Process
	tmpDir string
	out    *tail
}

// Script finds cognito-local's start script under the tools/ folder of the
// repository that contains the working directory.
func Script() (string, error) {
	return nodeproc.Script("cognito-local", filepath.Join("lib", "bin", "start.js"))
}

// config is cognito-local's .cognito/config.json (the parts set here).
type config struct {
	TokenConfig struct {
		IssuerDomain string `json:"IssuerDomain"`
	} `json:"TokenConfig"`
	LambdaClient     map[string]any    `json:"LambdaClient,omitempty"`
	TriggerFunctions map[string]string `json:"TriggerFunctions"`
}

// Start launches cognito-local and waits until it answers.
func Start(ctx context.Context, o Options) (_ *Server, err error) {
	script, err := Script()
	if err != nil {
		return nil, err
	}
	host, port, err := listenAddr(o.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{Endpoint: "http://" + net.JoinHostPort(host, port), out: &tail{}}
	dir := o.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "cognito-local-"); err != nil {
			return nil, err
		}
		s.tmpDir = dir
	}
	defer func() {
		if err != nil && s.tmpDir != "" {
			_ = os.RemoveAll(s.tmpDir)
		}
	}()
	var cfg config
	cfg.TokenConfig.IssuerDomain = s.Endpoint
	cfg.TriggerFunctions = map[string]string{}
	if o.LambdaEndpoint != "" && o.PreTokenGeneration != "" {
		cfg.LambdaClient = map[string]any{
			"endpoint": o.LambdaEndpoint, "region": "local",
			"credentials": map[string]string{"accessKeyId": "local", "secretAccessKey": "local"},
		}
		cfg.TriggerFunctions["PreTokenGeneration"] = o.PreTokenGeneration
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.MkdirAll(filepath.Join(dir, ".cognito"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, ".cognito", "config.json"), b, 0o644); err != nil {
		return nil, fmt.Errorf("write cognito-local config: %w", err)
	}

	cmd := exec.Command("node", script)
	cmd.Dir = dir // cognito-local keeps .cognito/ in its working directory
	cmd.Env = append(os.Environ(), "HOST="+host, "PORT="+port, "NODE_NO_WARNINGS=1")
	var out io.Writer = s.out
	if o.Output != nil {
		out = io.MultiWriter(s.out, o.Output)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if s.proc, err = nodeproc.Start(ctx, "cognito-local", cmd, nodeproc.Wait{
		Ready: func() bool {
			resp, err := http.Get(s.Endpoint + "/health")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		},
		Every:  100 * time.Millisecond,
		Within: 60 * time.Second,
		Exited: func() error {
			return fmt.Errorf("cognito-local exited at start (port %s taken?): %s", port, s.out.String())
		},
		TimedOut: func() error { return fmt.Errorf("cognito-local did not answer within 60s: %s", s.out.String()) },
	}); err != nil {
		return nil, err
	}
	return s, nil
}

// Issuer is the iss of the pool's tokens.
func (s *Server) Issuer(poolID string) string { return s.Endpoint + "/" + poolID }

// Stop ends the process, waits for it and removes a temporary data folder.
func (s *Server) Stop() {
	if s == nil || s.proc == nil {
		return
	}
	s.proc.Stop()
	if s.tmpDir != "" {
		_ = os.RemoveAll(s.tmpDir)
	}
}

func listenAddr(addr string) (host, port string, err error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, port, err = net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("cognito-local address %q: %w", addr, err)
	}
	if port == "0" || port == "" {
		p, err := nodeproc.FreePort(host)
		if err != nil {
			return "", "", err
		}
		port = strconv.Itoa(p)
	}
	return host, port, nil
}

// tail keeps the last 4 KiB written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}
