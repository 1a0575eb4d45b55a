// Package config reads keygate's settings from the environment. The deployed
// Lambdas and local mode read the very same variables, so local mode can be
// pointed at a real issuer or table.
package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/principal"
)

// Environment variable names. The README's configuration table lists them all.
const (
	EnvTable             = "KEYGATE_TABLE"
	EnvDynamoDBEndpoint  = "KEYGATE_DYNAMODB_ENDPOINT"
	EnvIssuer            = "KEYGATE_ISSUER"
	EnvJWKSURL           = "KEYGATE_JWKS_URL"
	EnvClientIDs         = "KEYGATE_CLIENT_IDS"
	EnvDefaultDailyLimit = "KEYGATE_DEFAULT_DAILY_LIMIT"
	EnvTierCaps          = "KEYGATE_TIER_CAPS"
	EnvMaxActiveKeys     = "KEYGATE_MAX_ACTIVE_KEYS"
	EnvLogLevel          = "KEYGATE_LOG_LEVEL"
	EnvMaxWorkspaceKeys  = "KEYGATE_MAX_WORKSPACE_KEYS"
	EnvMaxKeyLifetime    = "KEYGATE_MAX_KEY_LIFETIME_DAYS"
	EnvStoreTimeout      = "KEYGATE_STORE_TIMEOUT_MS"
	EnvKeyCache          = "KEYGATE_KEY_CACHE_SECONDS"
	EnvAllowedOrigins    = "KEYGATE_ALLOWED_ORIGINS"
	EnvGitHubKeysURL     = "KEYGATE_GITHUB_KEYS_URL"
	EnvLeakedKeyAction   = "KEYGATE_LEAKED_KEY_ACTION"
	EnvRoutes            = "KEYGATE_ROUTES"
)

// The audit log's settings.
const (
	EnvAuditRetention = "KEYGATE_AUDIT_RETENTION_DAYS" // days records are kept, 1-3650 (365)
	EnvEventBus       = "KEYGATE_EVENT_BUS"            // the EventBridge bus of audit events
	EnvEventBridgeURL = "KEYGATE_EVENTBRIDGE_ENDPOINT" // local mode's EventBridge sink
	DefaultAuditDays  = 365
	maxAuditDays      = 3650
)

// DefaultGitHubKeysURL is where GitHub publishes its secret scanning keys.
const DefaultGitHubKeysURL = "https://api.github.com/meta/public_keys/secret_scanning"

// Config is every setting a keygate Lambda reads.
type Config struct {
	Table            string
	DynamoDBEndpoint string // empty: the AWS endpoint of the region
	// Issuers are the trusted token issuers; a deployment has one, local
	// mode may add its Cognito emulator next to the dev issuer.
	Issuers []string
	// JWKSURL overrides <issuer>/.well-known/jwks.json (one issuer only).
	JWKSURL   string
	ClientIDs []string
	Limits    Limits
	LogLevel  string
	// StoreTimeout is the deadline of each DynamoDB call.
	StoreTimeout time.Duration
	// KeyCacheTTL is how long the authorizer remembers a good key (0: off).
	KeyCacheTTL time.Duration
	// AllowedOrigins are the web origins that get CORS headers.
	AllowedOrigins []string
	GitHubKeysURL  string
	// LeakedKeyAction is "revoke" or "flag".
	LeakedKeyAction string
	// Routes are the product's routes behind keygate (KEYGATE_ROUTES, set by
	// the CDK construct): the authorizer's policies, GET /v1/scopes and a
	// product Lambda's meter read them next to keygate's own.
	Routes route.Table
	// AuditRetention is how long audit records are kept (the table's TTL).
	AuditRetention time.Duration
	// EventBus is the EventBridge bus audit events go to; EventBridgeEndpoint
	// overrides EventBridge's endpoint (local mode's sink).
	EventBus, EventBridgeEndpoint string
}

// AllRoutes is the deployment's route table: keygate's own, then the
// product's.
func (c Config) AllRoutes() route.Table {
	return append(append(route.Table{}, route.Keygate...), c.Routes...)
}

// Issuer is the first trusted issuer.
func (c Config) Issuer() string {
	if len(c.Issuers) == 0 {
		return ""
	}
	return c.Issuers[0]
}

// Limits are the deployment's caps on keys.
type Limits struct {
	DefaultDailyLimit int
	TierCaps          map[principal.Tier]int // the highest dailyLimit a tier may set
	MaxActiveKeys     int                    // per user
	MaxWorkspaceKeys  int                    // per workspace
	MaxKeyLifetime    time.Duration          // how far ahead expiresAt may be
}

// DefaultLimits are the contract's defaults.
func DefaultLimits() Limits {
	return Limits{
		DefaultDailyLimit: 250,
		TierCaps: map[principal.Tier]int{
			principal.Pro:        10_000,
			principal.Team:       50_000,
			principal.Enterprise: 1_000_000,
		},
		MaxActiveKeys:    50,
		MaxWorkspaceKeys: 100,
		MaxKeyLifetime:   366 * 24 * time.Hour,
	}
}

// Load reads the environment. It names the variable that is missing or bad.
func Load() (Config, error) { return load(os.Getenv, true) }

// LoadFrom reads settings through getenv (tests, local mode).
func LoadFrom(getenv func(string) string) (Config, error) { return load(getenv, true) }

// LoadStoreFrom reads what a process needs to work on the table alone (the
// operator's command): no issuer or app client is required.
func LoadStoreFrom(getenv func(string) string) (Config, error) { return load(getenv, false) }

func load(getenv func(string) string, identity bool) (Config, error) {
	c := Config{
		Table:            getenv(EnvTable),
		DynamoDBEndpoint: getenv(EnvDynamoDBEndpoint),
		JWKSURL:          getenv(EnvJWKSURL),
		ClientIDs:        list(getenv(EnvClientIDs)),
		Limits:           DefaultLimits(),
		LogLevel:         getenv(EnvLogLevel),
		GitHubKeysURL:    getenv(EnvGitHubKeysURL),
		LeakedKeyAction:  getenv(EnvLeakedKeyAction),
	}
	if c.Table == "" {
		return Config{}, fmt.Errorf("%s is not set: the DynamoDB table name", EnvTable)
	}
	for _, iss := range list(getenv(EnvIssuer)) {
		if iss = strings.TrimRight(iss, "/"); iss != "" {
			c.Issuers = append(c.Issuers, iss)
		}
	}
	if len(c.Issuers) == 0 && identity {
		return Config{}, fmt.Errorf("%s is not set: the Cognito issuer, https://cognito-idp.<region>.amazonaws.com/<poolId>", EnvIssuer)
	}
	if c.JWKSURL != "" && len(c.Issuers) > 1 {
		return Config{}, fmt.Errorf("%s names one JWKS but %s names %d issuers; leave it unset to use each issuer's /.well-known/jwks.json", EnvJWKSURL, EnvIssuer, len(c.Issuers))
	}
	if len(c.ClientIDs) == 0 && identity {
		return Config{}, fmt.Errorf("%s is not set: the comma-separated Cognito app client ids whose tokens are accepted", EnvClientIDs)
	}
	var err error
	if c.Routes, err = productRoutes(getenv(EnvRoutes)); err != nil {
		return Config{}, err
	}
	allowed, err := origins(getenv(EnvAllowedOrigins))
	if err != nil {
		return Config{}, err
	}
	c.AllowedOrigins = allowed
	if c.GitHubKeysURL == "" {
		c.GitHubKeysURL = DefaultGitHubKeysURL
	}
	switch c.LeakedKeyAction {
	case "":
		c.LeakedKeyAction = "revoke"
	case "revoke", "flag":
	default:
		return Config{}, fmt.Errorf("%s: %q is not revoke or flag", EnvLeakedKeyAction, c.LeakedKeyAction)
	}
	if c.Limits.MaxWorkspaceKeys, err = positive(getenv, EnvMaxWorkspaceKeys, c.Limits.MaxWorkspaceKeys); err != nil {
		return Config{}, err
	}
	days, err := positive(getenv, EnvMaxKeyLifetime, int(c.Limits.MaxKeyLifetime/(24*time.Hour)))
	if err != nil {
		return Config{}, err
	}
	c.Limits.MaxKeyLifetime = time.Duration(days) * 24 * time.Hour
	c.EventBus, c.EventBridgeEndpoint = getenv(EnvEventBus), getenv(EnvEventBridgeURL)
	auditDays, err := positive(getenv, EnvAuditRetention, DefaultAuditDays)
	if err != nil || auditDays > maxAuditDays {
		return Config{}, fmt.Errorf("%s: %q is not a number of days from 1 to %d", EnvAuditRetention, getenv(EnvAuditRetention), maxAuditDays)
	}
	c.AuditRetention = time.Duration(auditDays) * 24 * time.Hour
	ms, err := positive(getenv, EnvStoreTimeout, 2000)
	if err != nil {
		return Config{}, err
	}
	c.StoreTimeout = time.Duration(ms) * time.Millisecond
	secs := 60
	if s := getenv(EnvKeyCache); s != "" {
		if secs, err = strconv.Atoi(s); err != nil || secs < 0 || secs > 3600 {
			return Config{}, fmt.Errorf("%s: %q is not a number of seconds from 0 to 3600", EnvKeyCache, s)
		}
	}
	c.KeyCacheTTL = time.Duration(secs) * time.Second
	if c.Limits.DefaultDailyLimit, err = positive(getenv, EnvDefaultDailyLimit, c.Limits.DefaultDailyLimit); err != nil {
		return Config{}, err
	}
	if c.Limits.MaxActiveKeys, err = positive(getenv, EnvMaxActiveKeys, c.Limits.MaxActiveKeys); err != nil {
		return Config{}, err
	}
	if s := getenv(EnvTierCaps); s != "" {
		for _, part := range strings.Split(s, ",") {
			name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
			tier := principal.ParseTier(strings.TrimSpace(name))
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if !ok || tier == principal.Free || err != nil || n < 1 {
				return Config{}, fmt.Errorf("%s: %q is not tier=cap (tiers pro, team, enterprise; cap a positive integer)", EnvTierCaps, part)
			}
			c.Limits.TierCaps[tier] = n
		}
	}
	for tier, limit := range c.Limits.TierCaps {
		if c.Limits.DefaultDailyLimit > limit {
			return Config{}, fmt.Errorf("%s=%d is above the %s tier cap %d in %s", EnvDefaultDailyLimit, c.Limits.DefaultDailyLimit, tier, limit, EnvTierCaps)
		}
	}
	return c, nil
}

func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func positive(getenv func(string) string, name string, def int) (int, error) {
	s := getenv(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s: %q is not a positive integer", name, s)
	}
	return n, nil
}

// productRoutes reads KEYGATE_ROUTES: none, or a route table that does not
// redeclare one of keygate's own routes.
func productRoutes(s string) (route.Table, error) {
	t, err := route.Decode(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvRoutes, err)
	}
	if err := append(append(route.Table{}, route.Keygate...), t...).Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", EnvRoutes, err)
	}
	return t, nil
}
