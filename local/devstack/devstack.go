// Package devstack runs the whole keygate API on one machine: dynalite (or a
// DynamoDB endpoint you name), the table, a dev token issuer (or the Cognito
// issuer you name), the authorizer and every route handler behind the local
// gateway. `make dev` and the end-to-end tests both start it. Settings come
// from the same KEYGATE_* variables the deployed Lambdas read; unset ones get
// local defaults (KEYGATE_GITHUB_KEYS_URL: a key list of its own, devgithub).
package devstack

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keygate/keygate/authorizer"
	"github.com/keygate/keygate/functions/handlers"
	"github.com/keygate/keygate/local/devgithub"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/local/dynalite"
	"github.com/keygate/keygate/local/eventsink"
	"github.com/keygate/keygate/local/gateway"
	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/app"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/cognito"
	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/lambdahttp"
)

// Local defaults for settings the environment leaves unset.
const (
	DefaultTable      = "keygate-local"
	DefaultClientID   = "keygate-local-client"
	DefaultAddr       = "127.0.0.1:8080" // the gateway
	DefaultIssuerAddr = "127.0.0.1:8081" // the dev token issuer
)

// Options for Start.
type Options struct {
	Getenv     func(string) string // default os.Getenv
	Addr       string              // gateway address, default 127.0.0.1:8080
	IssuerAddr string              // dev issuer address, default 127.0.0.1:8081
	DataDir    string              // keep dynalite's data here; empty is in memory
	Clock      clock.Clock         // default the system clock
	Log        *slog.Logger
	// UnknownKIDRefresh overrides the verifier's refetch interval (tests).
	UnknownKIDRefresh time.Duration
	// DynamoDBOptions adjust the DynamoDB client (tests count calls with them).
	DynamoDBOptions []func(*dynamodb.Options)
	// ExtraIssuers are trusted ahead of the dev issuer (local mode's Cognito
	// emulator): identities are per issuer and the first configured issuer's
	// subs stay bare, so the pool the console signs in at must come first.
	// Unused when KEYGATE_ISSUER is set.
	ExtraIssuers []string
	// Product are a product's routes, served beside keygate's own through
	// the same gateway, authorizer and meter (their declarations reach the
	// configuration as KEYGATE_ROUTES, as the CDK construct sets it). nil
	// serves the example product (Example); an empty list none.
	Product []ProductRoute
}

// ProductRoute is one of a product's routes and the handler serving it.
type ProductRoute struct {
	route.Route
	Handler lambdahttp.Handler
}

// EnvAuthorizerCache sets the local gateway's emulated API Gateway authorizer
// result cache in seconds (default 300, as the stack deploys it; 0 turns it
// off).
const EnvAuthorizerCache = "KEYGATE_DEV_AUTHORIZER_CACHE_SECONDS"

// Stack is a running local API.
type Stack struct {
	URL       string            // the gateway, e.g. http://127.0.0.1:8080
	Issuer    *devissuer.Issuer // nil when KEYGATE_ISSUER names a real issuer
	App       *app.App
	Dynalite  *dynalite.Server // nil when KEYGATE_DYNAMODB_ENDPOINT is set
	Gateway   *gateway.Gateway
	Authorize *authorizer.Authorizer
	// GitHub signs leak reports for the key list the stack serves in place
	// of GitHub's; nil when KEYGATE_GITHUB_KEYS_URL names another.
	GitHub *devgithub.Signer
	// Events is local mode's EventBridge stand-in, which receives the audit
	// events; nil when KEYGATE_EVENTBRIDGE_ENDPOINT names another.
	Events *eventsink.Sink

	servers Servers
	cancel  context.CancelFunc
}

// Start brings the stack up.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.IssuerAddr == "" {
		o.IssuerAddr = DefaultIssuerAddr
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Stack{cancel: cancel}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	env := map[string]string{}
	if getenv(config.EnvTable) == "" {
		env[config.EnvTable] = DefaultTable
	}
	if getenv(config.EnvClientIDs) == "" {
		env[config.EnvClientIDs] = DefaultClientID
	}
	// A loopback endpoint is ours to set up; a table on AWS is the operator's.
	createTable := isLoopback(getenv(config.EnvDynamoDBEndpoint))
	if getenv(config.EnvDynamoDBEndpoint) == "" {
		if s.Dynalite, err = dynalite.Start(ctx, dynalite.Options{Dir: o.DataDir}); err != nil {
			return nil, err
		}
		env[config.EnvDynamoDBEndpoint] = s.Dynalite.Endpoint
		createTable = true
	}
	if getenv(config.EnvIssuer) == "" {
		clientID := env[config.EnvClientIDs]
		if clientID == "" {
			clientID = FirstOf(getenv(config.EnvClientIDs))
		}
		if s.Issuer, err = devissuer.New(clientID); err != nil {
			return nil, err
		}
		if o.Clock != nil {
			s.Issuer.Now = o.Clock.Now
		}
		issuerURL, err := s.servers.Listen(o.IssuerAddr, s.Issuer.Handler())
		if err != nil {
			return nil, fmt.Errorf("dev issuer: %w", err)
		}
		s.Issuer.URL = issuerURL
		env[config.EnvIssuer] = strings.Join(append(slices.Clone(o.ExtraIssuers), issuerURL), ",")
	}
	if o.Product == nil {
		o.Product = Example()
	}
	if len(o.Product) > 0 {
		t := make(route.Table, len(o.Product))
		for i, pr := range o.Product {
			t[i] = pr.Route
		}
		env[config.EnvRoutes] = route.Encode(t)
	}
	if getenv(config.EnvGitHubKeysURL) == "" {
		// Local mode's stand-in for GitHub's key list: a leak report never
		// fetches the internet, and keygate-dev report-leak can sign one.
		if s.GitHub, err = devgithub.New(); err != nil {
			return nil, err
		}
		keysURL, err := s.servers.Listen("127.0.0.1:0", s.GitHub.Handler())
		if err != nil {
			return nil, fmt.Errorf("GitHub key list: %w", err)
		}
		env[config.EnvGitHubKeysURL] = keysURL + devgithub.KeysPath
	}
	if err := s.startEvents(getenv, env, nowOf(o.Clock)); err != nil {
		return nil, fmt.Errorf("local EventBridge: %w", err)
	}
	cfg, err := config.LoadFrom(func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return getenv(k)
	})
	if err != nil {
		return nil, err
	}
	if s.App, err = app.New(ctx, cfg, o.Log, o.Clock, o.DynamoDBOptions...); err != nil {
		return nil, err
	}
	if createTable {
		if err := s.App.Store.CreateTable(ctx); err != nil {
			return nil, err
		}
	}
	if err := s.publishInProcess(ctx); err != nil {
		return nil, err
	}
	verifier, err := s.App.Verifier(ctx, func(co *cognito.Options) { co.UnknownKIDRefresh = o.UnknownKIDRefresh })
	if err != nil {
		return nil, err
	}
	cacheTTL := 300 * time.Second
	if v := getenv(EnvAuthorizerCache); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 3600 {
			return nil, fmt.Errorf("%s: %q is not a number of seconds from 0 to 3600", EnvAuthorizerCache, v)
		}
		cacheTTL = time.Duration(n) * time.Second
	}
	s.Authorize = authorizer.New(s.App.Keys, verifier, cfg.AllRoutes(), cfg.KeyCacheTTL, o.Log)
	s.Authorize.Now = s.App.Clock.Now
	s.Gateway = &gateway.Gateway{Authorizer: s.Authorize.Handle, Log: o.Log, CacheTTL: cacheTTL, Now: s.App.Clock.Now}
	for _, rt := range handlers.Routes {
		s.Gateway.Routes = append(s.Gateway.Routes, gateway.Route{
			Method: rt.Method, Path: rt.Path, Public: rt.Public, Function: rt.Function, Lambda: rt.Lambda(s.App),
		})
	}
	for _, pr := range o.Product {
		s.Gateway.Routes = append(s.Gateway.Routes, gateway.Route{
			Method: pr.Method, Path: pr.Path, Public: pr.Public, Function: pr.Function, Lambda: handlers.Wrap(s.App, pr.Route, pr.Handler),
		})
	}
	if s.URL, err = s.servers.Listen(o.Addr, withOpenAPI(withLocalEvents(s.Events, gateway.WithCORS(s.Gateway, lambdahttp.NewCORS(cfg.AllowedOrigins))))); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	return s, nil
}

// Close stops the servers and dynalite.
func (s *Stack) Close() {
	s.servers.Close()
	if s.cancel != nil {
		s.cancel()
	}
	s.Dynalite.Stop()
}

func isLoopback(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// FirstOf is the first item of a comma-separated setting (KEYGATE_ISSUER,
// KEYGATE_CLIENT_IDS) without surrounding blanks, as config reads the list.
func FirstOf(list string) string {
	first, _, _ := strings.Cut(list, ",")
	return strings.TrimSpace(first)
}
