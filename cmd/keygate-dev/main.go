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
	"time"

	"github.com/keygate/keygate/local/devfile"
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
	if err := writeLocal(s.API, s.LocalFile().Users...); err != nil {
		fmt.Fprintln(os.Stderr, "keygate-dev: keygate-admin --local and keygate-dev report-leak will not find this stack:", err)
	} else {
		defer os.Remove(devfile.Path)
		defer os.Remove(devfile.GitHubKeyPath)
	}
	fmt.Print(s.Intro(ctx))
	go s.API.RunJobs(ctx, time.Minute) // the audit sweep and key.expiring, as the deployed schedules run them
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
// stack serves and who the demo users are (so --user takes their emails), and
// keygate-dev report-leak where its API is and, when the stack serves its own
// stand-in for GitHub's key list, the signing key (written beside it,
// readable by its owner only).
func writeLocal(s *devstack.Stack, users ...devfile.User) error {
	l := devfile.Local{Endpoint: s.App.Config.DynamoDBEndpoint, Table: s.App.Config.Table, API: s.URL, Users: users}
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
