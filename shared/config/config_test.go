package config_test

import (
	"reflect"
	"strings"
	"testing"

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
	t.Run("JWKS URL defaults to the issuer's well-known path", func(t *testing.T) {
		want := "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json"
		if c.JWKSURL != want {
			t.Fatalf("JWKSURL = %q, want %q", c.JWKSURL, want)
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
			name:  "trailing slash of the issuer is dropped before deriving the JWKS URL",
			edits: map[string]string{config.EnvIssuer: "http://127.0.0.1:9000/pool/"},
			check: func(t *testing.T, c config.Config) {
				if c.Issuer != "http://127.0.0.1:9000/pool" || c.JWKSURL != "http://127.0.0.1:9000/pool/.well-known/jwks.json" {
					t.Fatalf("Issuer = %q, JWKSURL = %q", c.Issuer, c.JWKSURL)
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
