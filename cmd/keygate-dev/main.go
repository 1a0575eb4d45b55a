// Command keygate-dev runs keygate locally (`make dev`): dynalite, the table,
// the authorizer and every route behind a local REST-API-Gateway stand-in, a
// dev token issuer for curl, cognito-local with a user pool and demo users
// (and keygate's pre-token-generation trigger), and the web console on its own
// origin. It prints where everything is and how to sign in.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/keygate/keygate/local/devfile"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/local/devstack"
	"github.com/keygate/keygate/local/webapp"
	"github.com/keygate/keygate/shared/config"
)

// Dev-only settings (the KEYGATE_* settings of the Lambdas apply too).
const (
	envAddr        = "KEYGATE_DEV_ADDR"         // gateway, default 127.0.0.1:8080
	envIssuerAddr  = "KEYGATE_DEV_ISSUER_ADDR"  // dev token issuer, default 127.0.0.1:8081
	envConsoleAddr = "KEYGATE_DEV_CONSOLE_ADDR" // web console, default 127.0.0.1:8082
	envCognitoAddr = "KEYGATE_DEV_COGNITO_ADDR" // cognito-local, default 127.0.0.1:9229
	envDataDir     = "KEYGATE_DEV_DATA_DIR"     // keep dynalite and cognito-local data on disk here; default in memory
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 {
		if os.Args[1] == "report-leak" {
			os.Exit(reportLeak(ctx, os.Args[2:], os.Stdout, os.Stderr))
		}
		fmt.Fprintf(os.Stderr, "keygate-dev: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	level := slog.LevelInfo
	if os.Getenv(config.EnvLogLevel) == "debug" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	o := webapp.Options{
		Addr: os.Getenv(envAddr), IssuerAddr: os.Getenv(envIssuerAddr), ConsoleAddr: os.Getenv(envConsoleAddr),
		CognitoAddr: os.Getenv(envCognitoAddr), DataDir: os.Getenv(envDataDir), Log: log,
	}
	if level == slog.LevelDebug {
		o.CognitoOutput = os.Stderr
	}
	if err := checkPorts(o); err != nil {
		fmt.Fprintln(os.Stderr, "keygate-dev:", err)
		os.Exit(1)
	}
	if o.DataDir != "" {
		unlock, err := lockDataDir(o.DataDir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "keygate-dev:", err)
			os.Exit(1)
		}
		defer unlock()
	}
	s, err := webapp.Start(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "keygate-dev:", err)
		os.Exit(1)
	}
	defer s.Close()
	if err := writeLocal(s.API); err != nil {
		fmt.Fprintln(os.Stderr, "keygate-dev: keygate-admin --local and keygate-dev report-leak will not find this stack:", err)
	} else {
		defer os.Remove(devfile.Path)
		defer os.Remove(devfile.GitHubKeyPath)
	}
	printHelp(s)
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "\nkeygate-dev: stopping")
}

// checkPorts tries each fixed address before anything starts, so a busy one
// is named with the setting that moves it rather than deep in a start-up.
func checkPorts(o webapp.Options) error {
	for _, p := range []struct{ addr, def, env, what string }{
		{o.Addr, devstack.DefaultAddr, envAddr, "the API gateway"},
		{o.IssuerAddr, devstack.DefaultIssuerAddr, envIssuerAddr, "the dev token issuer"},
		{o.ConsoleAddr, webapp.DefaultConsole, envConsoleAddr, "the web console"},
		{o.CognitoAddr, webapp.DefaultCognito, envCognitoAddr, "cognito-local"},
	} {
		addr := p.addr
		if addr == "" {
			addr = p.def
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s cannot listen on %s (%v).\nIs another make dev running? Stop it, or move this one: %s=127.0.0.1:<free port> make dev", p.what, addr, err, p.env)
		}
		l.Close()
	}
	return nil
}

// lockDataDir holds an exclusive lock on the data directory while this
// process runs: dynalite's LevelDB and cognito-local's files cannot be shared
// by two make dev, and their own failure is a stack trace that never says so.
func lockDataDir(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "keygate-dev.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		return nil, fmt.Errorf("the data directory %s is in use by another make dev (process %s; lock %s).\nStop that one, or give this one its own: %s=<another directory> make dev",
			dir, strings.TrimSpace(string(holder)), path, envDataDir)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// writeLocal tells keygate-admin --local which table and endpoint this
// stack serves, and keygate-dev report-leak where its API is and, when the
// stack serves its own stand-in for GitHub's key list, the signing key
// (written beside it, readable by its owner only).
func writeLocal(s *devstack.Stack) error {
	l := devfile.Local{Endpoint: s.App.Config.DynamoDBEndpoint, Table: s.App.Config.Table, API: s.URL}
	if s.GitHub != nil {
		path, err := filepath.Abs(devfile.GitHubKeyPath)
		if err != nil {
			return err
		}
		if err := s.GitHub.Save(path); err != nil {
			return err
		}
		l.GitHubKeyFile, l.GitHubKeyID = path, s.GitHub.ID
	}
	return devfile.Write(l)
}

func printHelp(s *webapp.Stack) {
	api := s.API
	cfg := api.App.Config
	fmt.Printf("\nkeygate is running locally.\n\n")
	fmt.Printf("  Web console          %s\n", s.ConsoleURL)
	fmt.Printf("  API (local gateway)  %s\n", api.URL)
	fmt.Printf("  OpenAPI document     %s%s (docs/API.md to read)\n", api.URL, devstack.OpenAPIPath)
	store := "dynalite " + cfg.DynamoDBEndpoint
	if api.Dynalite == nil {
		store = cfg.DynamoDBEndpoint
		if store == "" {
			store = "AWS DynamoDB"
		}
	}
	fmt.Printf("  DynamoDB             %s, table %s\n", store, cfg.Table)
	if s.Cognito != nil {
		fmt.Printf("  Cognito              cognito-local %s, pool %s, client %s\n", s.Cognito.Endpoint, s.Pool.ID, s.Pool.ClientID)
	}
	for _, iss := range cfg.Issuers {
		fmt.Printf("  Trusted issuer       %s\n", iss)
	}
	fmt.Println()

	if len(s.Users) > 0 {
		fmt.Printf("Sign in to the console at %s as one of (password %s for all):\n\n", s.ConsoleURL, webapp.DemoPassword)
		for _, u := range s.Users {
			fmt.Printf("  %-20s %s\n", u.Email, u.Role)
		}
		fmt.Println()
	}

	if api.Issuer == nil {
		fmt.Printf("Tokens come from your issuer (%s=%s); sign in there and export TOKEN.\n\n", config.EnvIssuer, cfg.Issuer())
	} else {
		tok, err := api.Issuer.Mint(devissuer.Token{Sub: "dev-user", Tier: "pro"})
		if err != nil {
			fmt.Fprintln(os.Stderr, "mint token:", err)
			return
		}
		fmt.Printf("For curl, a Pro user's access token from the dev issuer (valid 1 h):\n\n  export TOKEN=%s\n\n", tok)
		fmt.Printf("More tokens (any sub, tier free|pro|team|enterprise, teamId, use access|id):\n\n")
		fmt.Printf("  export TOKEN=$(curl -s '%s/token?sub=alice&tier=team&teamId=t1')\n\n", api.Issuer.URL)
	}
	fmt.Print(tryIt(api.URL))
	fmt.Printf("Operators: go run ./cmd/keygate-admin --local owner $PREFIX   (set-tier, usage, revoke: see the README)\n\n")
	if api.GitHub != nil {
		fmt.Printf("Leaked keys: GitHub's key list is stood in for at %s;\n", cfg.GitHubKeysURL)
		fmt.Printf("send a report signed as GitHub signs one:  go run ./cmd/keygate-dev report-leak $KEY\n\n")
	}
	fmt.Printf("Ctrl-C stops everything.\n")
}

// tryIt is the copy-paste tour: every line works as pasted in bash, zsh or
// sh (no <placeholders> a shell would read as redirections).
func tryIt(u string) string {
	return "Try it (each line as pasted):\n\n" +
		"  curl -s -X POST " + u + "/v1/api-keys -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d '{\"name\":\"CI Pipeline\",\"dailyLimit\":1000}'\n" +
		"  export KEY=csk_live_...          # the \"key\" of that answer: paste it here; it is shown only once\n" +
		"  PREFIX=$(printf %.17s \"$KEY\")    # the key's public id: csk_live_ and its first 8 hex\n" +
		"  curl -si " + u + "/v1/usage -H \"Authorization: Bearer $KEY\"\n" +
		"  curl -s " + u + "/v1/api-keys -H \"Authorization: Bearer $TOKEN\"\n" +
		"  curl -s -X PATCH " + u + "/v1/api-keys/$PREFIX -H \"Authorization: Bearer $TOKEN\" -d '{\"dailyLimit\":5}'\n" +
		"  curl -s -X POST " + u + "/v1/api-keys/$PREFIX/rotate -H \"Authorization: Bearer $TOKEN\" -d '{\"gracePeriodSeconds\":60}'\n" +
		"  curl -s -X DELETE " + u + "/v1/api-keys/$PREFIX -H \"Authorization: Bearer $TOKEN\"\n\n"
}
