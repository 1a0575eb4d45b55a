package config_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/principal"
)

// env is a minimal valid environment plus edits; an empty value unsets.
func env(edits map[string]string) func(string) string {
	m := map[string]string{
		config.EnvTable:     "keygate",
		config.EnvIssuer:    "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
		config.EnvClientIDs: "client-a",
	}
	for k, v := range edits {
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

func TestLoadRequired(t *testing.T) {
	tests := []struct {
		name  string
		edits map[string]string
		want  string // the variable the message must name
	}{
		{"missing table names KEYGATE_TABLE", map[string]string{config.EnvTable: ""}, "KEYGATE_TABLE"},
		{"missing issuer names KEYGATE_ISSUER", map[string]string{config.EnvIssuer: ""}, "KEYGATE_ISSUER"},
		{"issuer of slashes only names KEYGATE_ISSUER", map[string]string{config.EnvIssuer: "///"}, "KEYGATE_ISSUER"},
		{"missing client ids name KEYGATE_CLIENT_IDS", map[string]string{config.EnvClientIDs: ""}, "KEYGATE_CLIENT_IDS"},
		{"client ids of commas and blanks name KEYGATE_CLIENT_IDS", map[string]string{config.EnvClientIDs: " , ,"}, "KEYGATE_CLIENT_IDS"},
		{"bad default daily limit names its variable", map[string]string{config.EnvDefaultDailyLimit: "ten"}, "KEYGATE_DEFAULT_DAILY_LIMIT"},
		{"zero default daily limit names its variable", map[string]string{config.EnvDefaultDailyLimit: "0"}, "KEYGATE_DEFAULT_DAILY_LIMIT"},
		{"negative max active keys names its variable", map[string]string{config.EnvMaxActiveKeys: "-1"}, "KEYGATE_MAX_ACTIVE_KEYS"},
		{"default above a tier cap names both variables", map[string]string{config.EnvTierCaps: "pro=100"}, "KEYGATE_TIER_CAPS"},
		{"a JWKS override with two issuers names it", map[string]string{config.EnvIssuer: "http://a/x,http://b/y", config.EnvJWKSURL: "http://a/k"}, "KEYGATE_JWKS_URL"},
		{"a bad origin names its variable", map[string]string{config.EnvAllowedOrigins: "https://ok.example, console.example.com"}, "KEYGATE_ALLOWED_ORIGINS"},
		{"an origin with a path names its variable", map[string]string{config.EnvAllowedOrigins: "https://ok.example/app"}, "KEYGATE_ALLOWED_ORIGINS"},
		{"an unknown leak action names its variable", map[string]string{config.EnvLeakedKeyAction: "ignore"}, "KEYGATE_LEAKED_KEY_ACTION"},
		{"a bad store timeout names its variable", map[string]string{config.EnvStoreTimeout: "2s"}, "KEYGATE_STORE_TIMEOUT_MS"},
		{"a key cache above an hour names its variable", map[string]string{config.EnvKeyCache: "3601"}, "KEYGATE_KEY_CACHE_SECONDS"},
		{"zero workspace keys names its variable", map[string]string{config.EnvMaxWorkspaceKeys: "0"}, "KEYGATE_MAX_WORKSPACE_KEYS"},
		{"a bad key lifetime names its variable", map[string]string{config.EnvMaxKeyLifetime: "year"}, "KEYGATE_MAX_KEY_LIFETIME_DAYS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.LoadFrom(env(tt.edits))
			if err == nil {
				t.Fatal("LoadFrom succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not name %s", err, tt.want)
			}
		})
	}
}

func TestLoadDefaults(t *testing.T) {
	c, err := config.LoadFrom(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("default daily limit is 250", func(t *testing.T) {
		if c.Limits.DefaultDailyLimit != 250 {
			t.Fatalf("DefaultDailyLimit = %d", c.Limits.DefaultDailyLimit)
		}
	})
	t.Run("default max active keys is 50", func(t *testing.T) {
		if c.Limits.MaxActiveKeys != 50 {
			t.Fatalf("MaxActiveKeys = %d", c.Limits.MaxActiveKeys)
		}
	})
	t.Run("default tier caps are 10000, 50000, 1000000 and none for free", func(t *testing.T) {
		want := map[principal.Tier]int{principal.Pro: 10_000, principal.Team: 50_000, principal.Enterprise: 1_000_000}
		if !reflect.DeepEqual(c.Limits.TierCaps, want) {
			t.Fatalf("TierCaps = %v, want %v", c.Limits.TierCaps, want)
		}
	})
	t.Run("no JWKS URL override by default (each issuer's well-known path)", func(t *testing.T) {
		if c.JWKSURL != "" {
			t.Fatalf("JWKSURL = %q", c.JWKSURL)
		}
	})
	t.Run("new settings have the contract's defaults", func(t *testing.T) {
		if c.Limits.MaxWorkspaceKeys != 100 || c.Limits.MaxKeyLifetime != 366*24*time.Hour || c.StoreTimeout != 2*time.Second ||
			c.KeyCacheTTL != time.Minute || c.LeakedKeyAction != "revoke" || c.GitHubKeysURL != config.DefaultGitHubKeysURL ||
			len(c.AllowedOrigins) != 0 {
			t.Fatalf("%+v", c)
		}
	})
	t.Run("table and client ids are read", func(t *testing.T) {
		if c.Table != "keygate" || !reflect.DeepEqual(c.ClientIDs, []string{"client-a"}) {
			t.Fatalf("Table = %q, ClientIDs = %q", c.Table, c.ClientIDs)
		}
	})
	t.Run("DynamoDB endpoint defaults to empty (the region's)", func(t *testing.T) {
		if c.DynamoDBEndpoint != "" {
			t.Fatalf("DynamoDBEndpoint = %q", c.DynamoDBEndpoint)
		}
	})
	t.Run("defaults are not shared between loads", func(t *testing.T) {
		c.Limits.TierCaps[principal.Pro] = 1
		again, err := config.LoadFrom(env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if again.Limits.TierCaps[principal.Pro] != 10_000 {
			t.Fatalf("a second load saw the first load's edit: %v", again.Limits.TierCaps)
		}
	})
}

func TestLoadSettings(t *testing.T) {
	tests := []struct {
		name  string
		edits map[string]string
		check func(t *testing.T, c config.Config)
	}{
		{
			name:  "trailing slash of the issuer is dropped",
			edits: map[string]string{config.EnvIssuer: "http://127.0.0.1:9000/pool/"},
			check: func(t *testing.T, c config.Config) {
				if c.Issuer() != "http://127.0.0.1:9000/pool" {
					t.Fatalf("Issuer = %q", c.Issuer())
				}
			},
		},
		{
			name:  "several issuers are trusted, comma-separated",
			edits: map[string]string{config.EnvIssuer: "http://127.0.0.1:9000/a, http://127.0.0.1:9229/b/"},
			check: func(t *testing.T, c config.Config) {
				if !reflect.DeepEqual(c.Issuers, []string{"http://127.0.0.1:9000/a", "http://127.0.0.1:9229/b"}) {
					t.Fatalf("Issuers = %q", c.Issuers)
				}
			},
		},
		{
			name: "new settings are read",
			edits: map[string]string{
				config.EnvMaxWorkspaceKeys: "7", config.EnvMaxKeyLifetime: "30", config.EnvStoreTimeout: "150",
				config.EnvKeyCache: "0", config.EnvAllowedOrigins: "https://console.example.com, http://127.0.0.1:8082",
				config.EnvLeakedKeyAction: "flag", config.EnvGitHubKeysURL: "http://127.0.0.1:1/keys",
			},
			check: func(t *testing.T, c config.Config) {
				if c.Limits.MaxWorkspaceKeys != 7 || c.Limits.MaxKeyLifetime != 30*24*time.Hour || c.StoreTimeout != 150*time.Millisecond ||
					c.KeyCacheTTL != 0 || c.LeakedKeyAction != "flag" || c.GitHubKeysURL != "http://127.0.0.1:1/keys" ||
					!reflect.DeepEqual(c.AllowedOrigins, []string{"https://console.example.com", "http://127.0.0.1:8082"}) {
					t.Fatalf("%+v", c)
				}
			},
		},
		{
			name:  "explicit JWKS URL is kept",
			edits: map[string]string{config.EnvJWKSURL: "http://127.0.0.1:9000/keys.json"},
			check: func(t *testing.T, c config.Config) {
				if c.JWKSURL != "http://127.0.0.1:9000/keys.json" {
					t.Fatalf("JWKSURL = %q", c.JWKSURL)
				}
			},
		},
		{
			name:  "client ids are split on commas and trimmed",
			edits: map[string]string{config.EnvClientIDs: " client-a, client-b ,,client-c"},
			check: func(t *testing.T, c config.Config) {
				if want := []string{"client-a", "client-b", "client-c"}; !reflect.DeepEqual(c.ClientIDs, want) {
					t.Fatalf("ClientIDs = %q, want %q", c.ClientIDs, want)
				}
			},
		},
		{
			name:  "default daily limit and max active keys are read",
			edits: map[string]string{config.EnvDefaultDailyLimit: "100", config.EnvMaxActiveKeys: "5"},
			check: func(t *testing.T, c config.Config) {
				if c.Limits.DefaultDailyLimit != 100 || c.Limits.MaxActiveKeys != 5 {
					t.Fatalf("Limits = %+v", c.Limits)
				}
			},
		},
		{
			name:  "tier caps override only the tiers named",
			edits: map[string]string{config.EnvTierCaps: "pro=2000"},
			check: func(t *testing.T, c config.Config) {
				want := map[principal.Tier]int{principal.Pro: 2000, principal.Team: 50_000, principal.Enterprise: 1_000_000}
				if !reflect.DeepEqual(c.Limits.TierCaps, want) {
					t.Fatalf("TierCaps = %v, want %v", c.Limits.TierCaps, want)
				}
			},
		},
		{
			name:  "tier caps accept spaces and any case",
			edits: map[string]string{config.EnvTierCaps: " PRO = 1 , team=2,Enterprise= 3 ", config.EnvDefaultDailyLimit: "1"},
			check: func(t *testing.T, c config.Config) {
				want := map[principal.Tier]int{principal.Pro: 1, principal.Team: 2, principal.Enterprise: 3}
				if !reflect.DeepEqual(c.Limits.TierCaps, want) {
					t.Fatalf("TierCaps = %v, want %v", c.Limits.TierCaps, want)
				}
			},
		},
		{
			name:  "DynamoDB endpoint and log level are read",
			edits: map[string]string{config.EnvDynamoDBEndpoint: "http://127.0.0.1:8000", config.EnvLogLevel: "debug"},
			check: func(t *testing.T, c config.Config) {
				if c.DynamoDBEndpoint != "http://127.0.0.1:8000" || c.LogLevel != "debug" {
					t.Fatalf("DynamoDBEndpoint = %q, LogLevel = %q", c.DynamoDBEndpoint, c.LogLevel)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.LoadFrom(env(tt.edits))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadTierCapsRejected(t *testing.T) {
	for _, tt := range []struct{ name, caps string }{
		{"free tier cannot have a cap", "free=10"},
		{"unknown tier is rejected", "platinum=10"},
		{"missing equals sign is rejected", "pro"},
		{"missing cap is rejected", "pro="},
		{"non-numeric cap is rejected", "pro=many"},
		{"zero cap is rejected", "pro=0"},
		{"negative cap is rejected", "team=-1"},
		{"fractional cap is rejected", "team=1.5"},
		{"empty entry is rejected", "pro=10,,team=20"},
		{"colon separator is rejected", "pro:10"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.LoadFrom(env(map[string]string{config.EnvTierCaps: tt.caps}))
			if err == nil {
				t.Fatalf("KEYGATE_TIER_CAPS=%q accepted", tt.caps)
			}
			if !strings.Contains(err.Error(), config.EnvTierCaps) {
				t.Fatalf("error %q does not name %s", err, config.EnvTierCaps)
			}
		})
	}
}
