package stack

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// cdkJSONContext is the context of the repository's cdk.json: feature flags
// and keygate's defaults, which the CLI applies and `go test` must apply
// itself.
func cdkJSONContext(t testing.TB) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("../../cdk.json")
	if err != nil {
		t.Fatalf("read cdk.json: %v", err)
	}
	var doc struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parse cdk.json: %v", err)
	}
	return doc.Context
}

func lookupIn(m map[string]any) func(string) any {
	return func(k string) any { return m[k] }
}

func TestCDKJSONDefaultsAreTheBuiltInDefaults(t *testing.T) {
	got, err := ParseSettings(lookupIn(cdkJSONContext(t)))
	if err != nil {
		t.Fatal(err)
	}
	if want := DefaultSettings(); !reflect.DeepEqual(got, want) {
		t.Errorf("cdk.json defaults differ from DefaultSettings:\n got %+v\nwant %+v", got, want)
	}
	if got.TierCapsString() != "pro=10000,team=50000,enterprise=1000000" {
		t.Errorf("TierCapsString = %q", got.TierCapsString())
	}
}

func TestParseSettings(t *testing.T) {
	tests := []struct {
		name    string
		ctx     map[string]any
		check   func(t *testing.T, s Settings)
		wantErr string // substring; empty: no error
	}{
		{name: "nothing set gives the defaults", ctx: map[string]any{},
			check: func(t *testing.T, s Settings) {
				if !reflect.DeepEqual(s, DefaultSettings()) {
					t.Errorf("got %+v", s)
				}
			}},
		{name: "values from -c arrive as strings",
			ctx: map[string]any{"stage": "prod", "authorizerCacheTtlSeconds": "300", "apiGatewayCloudWatchRole": "false",
				"throttleRateLimit": "25", "maxActiveKeys": "10", "logLevel": "DEBUG"},
			check: func(t *testing.T, s Settings) {
				if !s.Production() || s.AuthorizerCacheTTLSeconds != 300 || s.APIGatewayCloudWatchRole ||
					s.ThrottleRateLimit != 25 || s.MaxActiveKeys != 10 || s.LogLevel != "debug" {
					t.Errorf("got %+v", s)
				}
			}},
		{name: "existing pool and clients",
			ctx: map[string]any{"userPoolId": "eu-west-1_AbCdEf123", "userPoolClientIds": " abc123 , def456 "},
			check: func(t *testing.T, s Settings) {
				if !s.ExistingUserPool() || s.UserPoolRegion() != "eu-west-1" || strings.Join(s.UserPoolClientIDs, ",") != "abc123,def456" {
					t.Errorf("got %+v", s)
				}
			}},
		{name: "tier caps override one tier and keep the others",
			ctx: map[string]any{"tierCaps": "team=60000"},
			check: func(t *testing.T, s Settings) {
				if s.TierCapsString() != "pro=10000,team=60000,enterprise=1000000" {
					t.Errorf("got %q", s.TierCapsString())
				}
			}},
		{name: "prod's stage throttle defaults to 1000/2000, the others' to 100/200", ctx: map[string]any{"stage": "prod"},
			check: func(t *testing.T, s Settings) {
				if s.ThrottleRateLimit != 1000 || s.ThrottleBurstLimit != 2000 {
					t.Errorf("prod throttle %v/%d", s.ThrottleRateLimit, s.ThrottleBurstLimit)
				}
				if d := DefaultSettings(); d.ThrottleRateLimit != 100 || d.ThrottleBurstLimit != 200 {
					t.Errorf("default throttle %v/%d", d.ThrottleRateLimit, d.ThrottleBurstLimit)
				}
			}},
		{name: "prod's throttle is still a setting", ctx: map[string]any{"stage": "prod", "throttleRateLimit": "300", "throttleBurstLimit": 600.0},
			check: func(t *testing.T, s Settings) {
				if s.ThrottleRateLimit != 300 || s.ThrottleBurstLimit != 600 {
					t.Errorf("prod throttle %v/%d", s.ThrottleRateLimit, s.ThrottleBurstLimit)
				}
			}},
		{name: "nothing reserved for the authorizer by default (a new account's quota takes the stack)", ctx: map[string]any{},
			check: func(t *testing.T, s Settings) {
				if s.AuthorizerReservedConcurrency != 0 {
					t.Errorf("reserved %d", s.AuthorizerReservedConcurrency)
				}
			}},
		{name: "a production stage is only prod", ctx: map[string]any{"stage": "production"},
			check: func(t *testing.T, s Settings) {
				if s.Production() {
					t.Error("stage production counted as prod")
				}
			}},
		{name: "bad stage name", ctx: map[string]any{"stage": "Prod_1"}, wantErr: "stage"},
		{name: "pool without clients", ctx: map[string]any{"userPoolId": "us-east-1_abc"}, wantErr: "userPoolClientIds"},
		{name: "clients without pool", ctx: map[string]any{"userPoolClientIds": "abc"}, wantErr: "userPoolId"},
		{name: "malformed pool id", ctx: map[string]any{"userPoolId": "abc", "userPoolClientIds": "abc"}, wantErr: "not a Cognito user pool id"},
		{name: "cache TTL above API Gateway's maximum", ctx: map[string]any{"authorizerCacheTtlSeconds": 3601.0}, wantErr: "authorizerCacheTtlSeconds"},
		{name: "negative cache TTL", ctx: map[string]any{"authorizerCacheTtlSeconds": "-1"}, wantErr: "authorizerCacheTtlSeconds"},
		{name: "fractional limit", ctx: map[string]any{"defaultDailyLimit": 2.5}, wantErr: "whole number"},
		{name: "default limit above a tier cap", ctx: map[string]any{"defaultDailyLimit": 20000.0}, wantErr: "above the pro cap"},
		{name: "free tier cannot get a cap", ctx: map[string]any{"tierCaps": "free=10"}, wantErr: "tierCaps"},
		{name: "retention CloudWatch does not offer", ctx: map[string]any{"logRetentionDays": 31.0}, wantErr: "retention"},
		{name: "unknown MFA mode", ctx: map[string]any{"mfa": "sometimes"}, wantErr: "mfa"},
		{name: "non-boolean flag", ctx: map[string]any{"apiGatewayCloudWatchRole": "maybe"}, wantErr: "apiGatewayCloudWatchRole"},

		{name: "round-2 settings from -c",
			ctx: map[string]any{"maxWorkspaceKeys": "20", "maxKeyLifetimeDays": "30", "storeTimeoutMs": "500",
				"keyCacheSeconds": "0", "githubKeysUrl": "https://github.example.com/keys", "leakedKeyAction": "Flag",
				"alarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:ops", "authorizerReservedConcurrency": "0"},
			check: func(t *testing.T, s Settings) {
				if s.MaxWorkspaceKeys != 20 || s.MaxKeyLifetimeDays != 30 || s.StoreTimeoutMs != 500 || s.KeyCacheSeconds != 0 ||
					s.GitHubKeysURL != "https://github.example.com/keys" || s.LeakedKeyAction != "flag" ||
					s.AlarmTopicArn != "arn:aws:sns:eu-west-1:123456789012:ops" || s.AuthorizerReservedConcurrency != 0 {
					t.Errorf("got %+v", s)
				}
			}},
		{name: "allowed origins: trimmed, deduplicated, loopback http allowed",
			ctx: map[string]any{"allowedOrigins": " https://app.example.com, http://localhost:5173,https://app.example.com,http://127.0.0.1:8080 ,https://a.example.com:8443"},
			check: func(t *testing.T, s Settings) {
				if got := s.AllowedOriginsString(); got != "https://app.example.com,http://localhost:5173,http://127.0.0.1:8080,https://a.example.com:8443" {
					t.Errorf("got %q", got)
				}
			}},
		{name: "origin with a path", ctx: map[string]any{"allowedOrigins": "https://app.example.com/console"}, wantErr: "allowedOrigins"},
		{name: "origin with a trailing slash", ctx: map[string]any{"allowedOrigins": "https://app.example.com/"}, wantErr: "allowedOrigins"},
		{name: "wildcard origin", ctx: map[string]any{"allowedOrigins": "*"}, wantErr: "allowedOrigins"},
		{name: "wildcard subdomain", ctx: map[string]any{"allowedOrigins": "https://*.example.com"}, wantErr: "allowedOrigins"},
		{name: "plain http on a public host", ctx: map[string]any{"allowedOrigins": "http://app.example.com"}, wantErr: "plain http"},
		{name: "uppercase origin", ctx: map[string]any{"allowedOrigins": "https://App.example.com"}, wantErr: "allowedOrigins"},
		{name: "quote in origin", ctx: map[string]any{"allowedOrigins": `https://a.com"`}, wantErr: "allowedOrigins"},
		{name: "GitHub keys over http", ctx: map[string]any{"githubKeysUrl": "http://api.github.com/meta"}, wantErr: "githubKeysUrl"},
		{name: "unknown leaked-key action", ctx: map[string]any{"leakedKeyAction": "delete"}, wantErr: "leakedKeyAction"},
		{name: "alarm topic not an SNS ARN", ctx: map[string]any{"alarmTopicArn": "arn:aws:sqs:eu-west-1:123456789012:q"}, wantErr: "alarmTopicArn"},
		{name: "store timeout at the authorizer's timeout", ctx: map[string]any{"storeTimeoutMs": 5000.0}, wantErr: "storeTimeoutMs"},
		{name: "zero workspace keys", ctx: map[string]any{"maxWorkspaceKeys": 0.0}, wantErr: "maxWorkspaceKeys"},
		{name: "lifetime of zero days", ctx: map[string]any{"maxKeyLifetimeDays": "0"}, wantErr: "maxKeyLifetimeDays"},
		{name: "negative key cache", ctx: map[string]any{"keyCacheSeconds": -1.0}, wantErr: "keyCacheSeconds"},
		{name: "negative reserved concurrency", ctx: map[string]any{"authorizerReservedConcurrency": "-5"}, wantErr: "authorizerReservedConcurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSettings(lookupIn(tt.ctx))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}
}

func TestNewNamesMissingBinaries(t *testing.T) {
	_, err := New(nil, "Keygate-test", Props{Settings: DefaultSettings(), BuildDir: t.TempDir(), ConsoleDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "make build") || !strings.Contains(err.Error(), "authorizer/bootstrap") {
		t.Fatalf("err = %v", err)
	}
}

// TestMakefileBuildsEveryLambda: `make build` (mk/infra.mk's INFRA_LAMBDAS)
// writes a bootstrap for exactly the stack's Lambdas.
func TestMakefileBuildsEveryLambda(t *testing.T) {
	raw, err := os.ReadFile("../../mk/infra.mk")
	if err != nil {
		t.Fatalf("read mk/infra.mk: %v", err)
	}
	text := strings.ReplaceAll(string(raw), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		name, value, ok := strings.Cut(line, ":=")
		if ok && strings.TrimSpace(name) == "INFRA_LAMBDAS" {
			if got := strings.Fields(value); !reflect.DeepEqual(got, LambdaNames) {
				t.Errorf("INFRA_LAMBDAS = %v, want LambdaNames %v", got, LambdaNames)
			}
			return
		}
	}
	t.Fatal("no INFRA_LAMBDAS in mk/infra.mk")
}
