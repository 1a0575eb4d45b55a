// Command keygate-dev runs the whole keygate API locally (`make dev`):
// dynalite, the table, a dev token issuer, the authorizer and every route
// behind a local REST-API-Gateway stand-in. It prints how to call it.
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
	"github.com/keygate/keygate/shared/config"
)

// Dev-only settings (the KEYGATE_* settings of the Lambdas apply too).
const (
	envAddr       = "KEYGATE_DEV_ADDR"        // gateway, default 127.0.0.1:8080
	envIssuerAddr = "KEYGATE_DEV_ISSUER_ADDR" // dev token issuer, default 127.0.0.1:8081
	envDataDir    = "KEYGATE_DEV_DATA_DIR"    // keep dynalite data on disk here; default in memory
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	level := slog.LevelInfo
	if os.Getenv(config.EnvLogLevel) == "debug" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	s, err := devstack.Start(ctx, devstack.Options{
		Addr: os.Getenv(envAddr), IssuerAddr: os.Getenv(envIssuerAddr), DataDir: os.Getenv(envDataDir), Log: log,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "keygate-dev:", err)
		os.Exit(1)
	}
	defer s.Close()
	if err := writeLocal(s); err != nil {
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

func printHelp(s *devstack.Stack) {
	cfg := s.App.Config
	fmt.Printf("\nkeygate is running locally.\n\n")
	fmt.Printf("  API (local gateway)  %s\n", s.URL)
	store := "dynalite " + cfg.DynamoDBEndpoint
	if s.Dynalite == nil {
		store = cfg.DynamoDBEndpoint
		if store == "" {
			store = "AWS DynamoDB"
		}
	}
	fmt.Printf("  DynamoDB             %s, table %s\n", store, cfg.Table)
	fmt.Printf("  Token issuer         %s\n\n", cfg.Issuer())
	if s.Issuer == nil {
		fmt.Printf("Tokens come from your issuer (%s=%s); sign in there and export TOKEN.\n\n", config.EnvIssuer, cfg.Issuer())
	} else {
		tok, err := s.Issuer.Mint(devissuer.Token{Sub: "dev-user", Tier: "pro"})
		if err != nil {
			fmt.Fprintln(os.Stderr, "mint token:", err)
			return
		}
		fmt.Printf("A Pro user's access token (valid 1 h):\n\n  export TOKEN=%s\n\n", tok)
		fmt.Printf("More tokens (any sub, tier free|pro|team|enterprise, teamId, use access|id):\n\n")
		fmt.Printf("  export TOKEN=$(curl -s '%s/token?sub=alice&tier=team&teamId=t1')\n\n", s.Issuer.URL)
	}
	u := s.URL
	fmt.Printf("Try it:\n\n")
	fmt.Printf("  curl -s -X POST %s/v1/api-keys -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d '{\"name\":\"CI Pipeline\",\"dailyLimit\":1000}'\n", u)
	fmt.Printf("  export KEY=csk_live_...   # the \"key\" from that answer; it is shown once\n")
	fmt.Printf("  curl -s %s/v1/usage -H \"Authorization: Bearer $KEY\" -i\n", u)
	fmt.Printf("  curl -s %s/v1/api-keys -H \"Authorization: Bearer $TOKEN\"\n", u)
	fmt.Printf("  curl -s -X PATCH %s/v1/api-keys/<prefix> -H \"Authorization: Bearer $TOKEN\" -d '{\"dailyLimit\":5}'\n", u)
	fmt.Printf("  curl -s -X DELETE %s/v1/api-keys/<prefix> -H \"Authorization: Bearer $TOKEN\"\n\n", u)
	fmt.Printf("Ctrl-C stops everything.\n")
}
