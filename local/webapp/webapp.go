// Package webapp runs keygate's Cognito-backed web app on one machine: the
// API (devstack), cognito-local with a user pool, an app client and demo
// users, keygate's pre-token-generation trigger served where cognito-local
// invokes Lambda functions, and the built console on its own origin with a
// generated /config.json. The API trusts the pool's tokens and the console's
// origin. `make dev` and the browser tests start it.
//
// The API trusts cognito-local's pool next to devstack's dev token issuer.
// When KEYGATE_ISSUER names a real Cognito pool, cognito-local is not started
// and the console is configured for that pool instead: local mode and a
// deployed pool differ only in the console's configuration.
package webapp

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keygate/keygate/local/cognitolocal"
	"github.com/keygate/keygate/local/devfile"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/local/devstack"
	"github.com/keygate/keygate/local/lambdainvoke"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/cognito/pretoken"
	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/principal"
)

// DemoPassword is every demo user's password (local mode only).
const DemoPassword = "Keygate-Local-1!"

// DemoUser is a user make dev creates, with who they are for.
type DemoUser struct {
	cognitolocal.User
	Role string
	// Sub is the user's id in the pool, once the pool exists (Stack.Users).
	Sub string
}

// DemoUsers: a Pro user, a Free user, and two members of the team workspace
// "acme" on the Team tier.
var DemoUsers = []DemoUser{
	{User: cognitolocal.User{Email: "pro@example.com", Password: DemoPassword, Tier: "pro"}, Role: "Pro user"},
	{User: cognitolocal.User{Email: "free@example.com", Password: DemoPassword, Tier: "free"}, Role: "Free user (cannot create keys)"},
	{User: cognitolocal.User{Email: "alice@example.com", Password: DemoPassword, Tier: "team", TeamID: "acme"}, Role: "member of team workspace acme (Team tier)"},
	{User: cognitolocal.User{Email: "bob@example.com", Password: DemoPassword, Tier: "team", TeamID: "acme"}, Role: "member of team workspace acme (Team tier)"},
}

// Names of what is set up in cognito-local.
const (
	PoolName       = "keygate-local"
	ClientName     = "keygate-console"
	TriggerName    = "pretokengen"
	DefaultConsole = "127.0.0.1:8082"
	DefaultCognito = "127.0.0.1:9229"
)

// Options for Start. Settings not given here come from the KEYGATE_* variables
// through Getenv, as for devstack.
type Options struct {
	Getenv      func(string) string // default os.Getenv
	Addr        string              // API gateway, default devstack's
	IssuerAddr  string              // dev token issuer, default devstack's
	ConsoleAddr string              // default 127.0.0.1:8082
	CognitoAddr string              // default 127.0.0.1:9229
	// DataDir keeps dynalite's data (DataDir/dynamodb) and cognito-local's
	// (DataDir/cognito) between runs; empty keeps both in memory.
	DataDir    string
	ConsoleDir string // the built console; default console/dist above the working directory
	Users      []DemoUser
	Clock      clock.Clock
	Log        *slog.Logger
	// CognitoOutput receives cognito-local's log (nil: discarded).
	CognitoOutput   interface{ Write([]byte) (int, error) }
	DynamoDBOptions []func(*dynamodb.Options)
}

// Stack is the running web app.
type Stack struct {
	API        *devstack.Stack
	ConsoleURL string
	Console    ConsoleConfig
	Cognito    *cognitolocal.Server // nil with a real pool
	Pool       cognitolocal.Pool
	Users      []DemoUser              // with their subs; none with a real pool
	Trigger    *lambdainvoke.Functions // keygate's trigger as cognito-local calls it

	servers devstack.Servers
}

// Start brings everything up.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.ConsoleAddr == "" {
		o.ConsoleAddr = DefaultConsole
	}
	if o.CognitoAddr == "" {
		o.CognitoAddr = DefaultCognito
	}
	if o.Users == nil {
		o.Users = DemoUsers
	}
	if o.ConsoleDir == "" {
		if o.ConsoleDir, err = ConsoleDir(); err != nil {
			return nil, err
		}
	}
	s := &Stack{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	// The console's origin must be known before the API starts: it is an
	// allowed CORS origin.
	consoleL, err := net.Listen("tcp", o.ConsoleAddr)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	defer func() {
		if err != nil {
			consoleL.Close()
		}
	}()
	s.ConsoleURL = "http://" + consoleL.Addr().String()
	env := map[string]string{
		config.EnvAllowedOrigins: joinList(getenv(config.EnvAllowedOrigins), s.ConsoleURL),
	}

	var extraIssuers []string
	if getenv(config.EnvIssuer) == "" {
		s.Trigger = lambdainvoke.New(map[string]any{TriggerName: pretoken.Handle}, o.Log)
		lambdaURL, err := s.servers.Listen("127.0.0.1:0", s.Trigger)
		if err != nil {
			return nil, fmt.Errorf("lambda invoke endpoint: %w", err)
		}
		co := cognitolocal.Options{Addr: o.CognitoAddr, LambdaEndpoint: lambdaURL, PreTokenGeneration: TriggerName}
		if o.CognitoOutput != nil {
			co.Output = o.CognitoOutput
		}
		if o.DataDir != "" {
			co.Dir = filepath.Join(o.DataDir, "cognito")
		}
		if s.Cognito, err = cognitolocal.Start(ctx, co); err != nil {
			return nil, err
		}
		users := make([]cognitolocal.User, len(o.Users))
		for i, u := range o.Users {
			users[i] = u.User
		}
		if s.Pool, err = s.Cognito.EnsurePool(ctx, cognitolocal.PoolSpec{Name: PoolName, Client: ClientName, Users: users}); err != nil {
			return nil, fmt.Errorf("cognito-local pool: %w", err)
		}
		s.Users = slices.Clone(o.Users)
		for i, u := range s.Users {
			if s.Users[i].Sub, err = s.Cognito.Sub(ctx, s.Pool.ID, u.Email); err != nil {
				return nil, fmt.Errorf("cognito-local pool: %w", err)
			}
		}
		// The API trusts the pool first, then the dev issuer (tests that craft
		// tokens). Identities are per issuer and only the first issuer's subs
		// are owner ids as they are: the demo users' keys, whether made in the
		// console or with curl, belong to their bare subs.
		extraIssuers = []string{s.Pool.Issuer}
		env[config.EnvClientIDs] = joinList(getenv(config.EnvClientIDs), devstack.DefaultClientID, s.Pool.ClientID)
		s.Console = ConsoleConfig{
			Region: "local", UserPoolID: s.Pool.ID, ClientID: s.Pool.ClientID,
			CognitoEndpoint: s.Cognito.Endpoint, AuthFlow: "USER_PASSWORD_AUTH", APIToken: "id",
		}
	} else {
		region, poolID, ok := parseIssuer(devstack.FirstOf(getenv(config.EnvIssuer)))
		if !ok {
			o.Log.Warn("KEYGATE_ISSUER is not a Cognito issuer; the console cannot sign in", "issuer", getenv(config.EnvIssuer))
		}
		s.Console = ConsoleConfig{Region: region, UserPoolID: poolID, ClientID: devstack.FirstOf(getenv(config.EnvClientIDs))}
	}

	dataDir := ""
	if o.DataDir != "" {
		dataDir = filepath.Join(o.DataDir, "dynamodb")
	}
	s.API, err = devstack.Start(ctx, devstack.Options{
		Getenv: func(k string) string {
			if v, ok := env[k]; ok {
				return v
			}
			return getenv(k)
		},
		Addr: o.Addr, IssuerAddr: o.IssuerAddr, DataDir: dataDir, Clock: o.Clock, Log: o.Log,
		DynamoDBOptions: o.DynamoDBOptions, ExtraIssuers: extraIssuers,
	})
	if err != nil {
		return nil, err
	}
	if s.Cognito != nil && s.API.Issuer != nil {
		s.API.Issuer.SetUserTokens(s.UserToken)
	}
	s.Console.APIURL = s.API.URL
	limits := s.API.App.Config.Limits
	s.Console.DefaultDailyLimit = limits.DefaultDailyLimit
	s.Console.MaxKeyLifetimeDays = int(limits.MaxKeyLifetime / (24 * time.Hour))
	s.Console.TierCaps = TierCaps{
		Pro: limits.TierCaps[principal.Pro], Team: limits.TierCaps[principal.Team], Enterprise: limits.TierCaps[principal.Enterprise],
	}
	connect := []string{s.API.URL}
	if s.Cognito != nil {
		connect = append(connect, s.Cognito.Endpoint)
	} else if s.Console.Region != "" {
		connect = append(connect, "https://cognito-idp."+s.Console.Region+".amazonaws.com")
	}
	s.servers.Serve(consoleL, ConsoleHandler(o.ConsoleDir, s.Console, connect...))
	return s, nil
}

// Close stops everything.
func (s *Stack) Close() {
	s.servers.Close()
	if s.API != nil {
		s.API.Close()
	}
	s.Cognito.Stop()
}

// parseIssuer reads https://cognito-idp.<region>.amazonaws.com/<poolId>.
func parseIssuer(iss string) (region, poolID string, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimRight(iss, "/"), "https://cognito-idp.")
	if !found {
		return "", "", false
	}
	host, pool, found := strings.Cut(rest, "/")
	region, found2 := strings.CutSuffix(host, ".amazonaws.com")
	if !found || !found2 || pool == "" || strings.Contains(pool, "/") {
		return "", "", false
	}
	return region, pool, true
}

func joinList(parts ...string) string {
	var out []string
	for _, p := range parts {
		for _, v := range strings.Split(p, ",") {
			if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return strings.Join(out, ",")
}

// User finds a demo user by email (case-insensitive, as the pool signs in).
func (s *Stack) User(email string) (DemoUser, bool) {
	for _, u := range s.Users {
		if strings.EqualFold(u.Email, email) {
			return u, true
		}
	}
	return DemoUser{}, false
}

// UserToken signs a demo user in at cognito-local and returns their ID token
// (use "id": it carries custom:tier and custom:teamId, as the console's) or
// access token (use "access": cognito-local never puts the tier in it, so
// keygate takes it as free). It is the dev issuer's /token?user=.
func (s *Stack) UserToken(ctx context.Context, email, use string) (string, error) {
	u, ok := s.User(email)
	if !ok {
		var known []string
		for _, u := range s.Users {
			known = append(known, u.Email)
		}
		return "", fmt.Errorf("%w %q: the demo users are %s", devissuer.ErrUnknownUser, email, strings.Join(known, ", "))
	}
	access, id, err := s.Cognito.SignIn(ctx, s.Pool.ClientID, u.Email, u.Password)
	if err != nil {
		return "", err
	}
	if use == "access" {
		return access, nil
	}
	return id, nil
}

// LocalFile is what make dev writes to .dev/local.json for keygate-admin
// --local and keygate-dev report-leak: the table, the endpoint, the API and
// the demo users with their subs (keygate-dev adds the GitHub stand-in's key).
func (s *Stack) LocalFile() devfile.Local {
	cfg := s.API.App.Config
	l := devfile.Local{Endpoint: cfg.DynamoDBEndpoint, Table: cfg.Table, API: s.API.URL}
	for _, u := range s.Users {
		l.Users = append(l.Users, devfile.User{Email: u.Email, Sub: u.Sub, Tier: u.Tier, TeamID: u.TeamID})
	}
	return l
}
