// Package config reads keygate's settings from the environment. The deployed
// Lambdas and local mode read the very same variables, so local mode can be
// pointed at a real issuer or table.
package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"

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
	EnvAllowedOrigins    = "KEYGATE_ALLOWED_ORIGINS"
)

// Config is every setting a keygate Lambda reads.
type Config struct {
	Table            string
	DynamoDBEndpoint string // empty: the AWS endpoint of the region
	Issuer           string
	JWKSURL          string
	ClientIDs        []string
	Limits           Limits
	LogLevel         string
	// AllowedOrigins are the web origins (scheme://host[:port]) whose
	// browsers may call the API (CORS).
	AllowedOrigins []string
}

// Limits are the deployment's caps on keys.
type Limits struct {
	DefaultDailyLimit int
	TierCaps          map[principal.Tier]int // the highest dailyLimit a tier may set
	MaxActiveKeys     int
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
		MaxActiveKeys: 50,
	}
}

// Load reads the environment. It names the variable that is missing or bad.
func Load() (Config, error) { return load(os.Getenv) }

// LoadFrom reads settings through getenv (tests, local mode).
func LoadFrom(getenv func(string) string) (Config, error) { return load(getenv) }

func load(getenv func(string) string) (Config, error) {
	c := Config{
		Table:            getenv(EnvTable),
		DynamoDBEndpoint: getenv(EnvDynamoDBEndpoint),
		Issuer:           strings.TrimRight(getenv(EnvIssuer), "/"),
		JWKSURL:          getenv(EnvJWKSURL),
		Limits:           DefaultLimits(),
		LogLevel:         getenv(EnvLogLevel),
	}
	if c.Table == "" {
		return Config{}, fmt.Errorf("%s is not set: the DynamoDB table name", EnvTable)
	}
	if c.Issuer == "" {
		return Config{}, fmt.Errorf("%s is not set: the Cognito issuer, https://cognito-idp.<region>.amazonaws.com/<poolId>", EnvIssuer)
	}
	if c.JWKSURL == "" {
		c.JWKSURL = c.Issuer + "/.well-known/jwks.json"
	}
	for _, id := range strings.Split(getenv(EnvClientIDs), ",") {
		if id = strings.TrimSpace(id); id != "" {
			c.ClientIDs = append(c.ClientIDs, id)
		}
	}
	if len(c.ClientIDs) == 0 {
		return Config{}, fmt.Errorf("%s is not set: the comma-separated Cognito app client ids whose tokens are accepted", EnvClientIDs)
	}
	var err error
	if c.AllowedOrigins, err = origins(getenv(EnvAllowedOrigins)); err != nil {
		return Config{}, err
	}
	if c.Limits.DefaultDailyLimit, err = positive(getenv, EnvDefaultDailyLimit, c.Limits.DefaultDailyLimit); err != nil {
		return Config{}, err
	}
	if c.Limits.MaxActiveKeys, err = positive(getenv, EnvMaxActiveKeys, c.Limits.MaxActiveKeys); err != nil {
		return Config{}, err
	}
	if s := getenv(EnvTierCaps); s != "" {
		for _, part := range strings.Split(s, ",") {
			name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
			tier := principal.ParseTier(name)
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
