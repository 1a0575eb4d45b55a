// Command keygate-dev runs keygate locally (`make dev`): dynalite, the table,
// the authorizer and every route behind a local REST-API-Gateway stand-in, a
// dev token issuer for curl, cognito-local with a user pool and demo users
// (and keygate's pre-token-generation trigger), and the web console on its own
// origin. It prints where everything is and how to sign in.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

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
	s, err := webapp.Start(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "keygate-dev:", err)
		os.Exit(1)
	}
	defer s.Close()
	if err := writeLocal(s.API); err != nil {
		fmt.Fprintln(os.Stderr, "keygate-dev: keygate-admin --local will not find this stack:", err)
	} else {
		defer os.Remove(localFile)
	}
	printHelp(s)
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "\nkeygate-dev: stopping")
}

// localFile tells keygate-admin --local which table and endpoint this stack
// serves (cmd/keygate-admin reads it).
const localFile = ".dev/local.json"

func writeLocal(s *devstack.Stack) error {
	b, err := json.Marshal(map[string]string{"endpoint": s.App.Config.DynamoDBEndpoint, "table": s.App.Config.Table})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(localFile), 0o755); err != nil {
		return err
	}
	return os.WriteFile(localFile, b, 0o644)
}

func printHelp(s *webapp.Stack) {
	api := s.API
	cfg := api.App.Config
	fmt.Printf("\nkeygate is running locally.\n\n")
	fmt.Printf("  Web console          %s\n", s.ConsoleURL)
	fmt.Printf("  API (local gateway)  %s\n", api.URL)
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
	u := api.URL
	fmt.Printf("Try it:\n\n")
	fmt.Printf("  curl -s -X POST %s/v1/api-keys -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d '{\"name\":\"CI Pipeline\",\"dailyLimit\":1000}'\n", u)
	fmt.Printf("  export KEY=csk_live_...   # the \"key\" from that answer; it is shown once\n")
	fmt.Printf("  curl -s %s/v1/usage -H \"Authorization: Bearer $KEY\" -i\n", u)
	fmt.Printf("  curl -s %s/v1/api-keys -H \"Authorization: Bearer $TOKEN\"\n", u)
	fmt.Printf("  curl -s -X PATCH %s/v1/api-keys/<prefix> -H \"Authorization: Bearer $TOKEN\" -d '{\"dailyLimit\":5}'\n", u)
	fmt.Printf("  curl -s -X DELETE %s/v1/api-keys/<prefix> -H \"Authorization: Bearer $TOKEN\"\n\n", u)
	fmt.Printf("Ctrl-C stops everything.\n")
}
