package stack

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// CDK context keys. Defaults live in cdk.json at the repository root and are
// repeated in DefaultSettings, so `go run .` without the CLI and `go test`
// behave like `cdk synth`; the two stage throttle settings, whose default
// depends on the stage (ProductionThrottle*), are left out of cdk.json.
// Override any of them with `-c key=value`.
const (
	CtxStage                    = "stage"
	CtxUserPoolID               = "userPoolId"
	CtxUserPoolClientIDs        = "userPoolClientIds"
	CtxDefaultDailyLimit        = "defaultDailyLimit"
	CtxTierCaps                 = "tierCaps"
	CtxMaxActiveKeys            = "maxActiveKeys"
	CtxAuthorizerCacheTTL       = "authorizerCacheTtlSeconds"
	CtxThrottleRateLimit        = "throttleRateLimit"
	CtxThrottleBurstLimit       = "throttleBurstLimit"
	CtxLogRetentionDays         = "logRetentionDays"
	CtxLogLevel                 = "logLevel"
	CtxMFA                      = "mfa"
	CtxAPIGatewayCloudWatchRole = "apiGatewayCloudWatchRole"

	CtxMaxWorkspaceKeys              = "maxWorkspaceKeys"
	CtxMaxKeyLifetimeDays            = "maxKeyLifetimeDays"
	CtxStoreTimeoutMs                = "storeTimeoutMs"
	CtxKeyCacheSeconds               = "keyCacheSeconds"
	CtxAllowedOrigins                = "allowedOrigins"
	CtxGitHubKeysURL                 = "githubKeysUrl"
	CtxLeakedKeyAction               = "leakedKeyAction"
	CtxAlarmTopicArn                 = "alarmTopicArn"
	CtxAuthorizerReservedConcurrency = "authorizerReservedConcurrency"
)

// ProductionStage is the stage whose data outlives the stack: the table and the
// user pool get deletion protection and RemovalPolicy RETAIN.
const ProductionStage = "prod"

// Settings are the deployment choices an operator makes with CDK context.
type Settings struct {
	// Stage names the deployment (stack Keygate-<stage>, API stage <stage>).
	Stage string
	// UserPoolID and UserPoolClientIDs select an existing Cognito user pool
	// instead of creating one. Both or neither.
	UserPoolID        string
	UserPoolClientIDs []string
	// DefaultDailyLimit is a new key's limit when the request names none.
	DefaultDailyLimit int
	// TierCaps is the highest dailyLimit each paid tier may set.
	TierCaps map[string]int
	// MaxActiveKeys caps a user's active keys.
	MaxActiveKeys int
	// AuthorizerCacheTTLSeconds is how long API Gateway reuses an authorizer
	// answer for the same Authorization header; 0 turns caching off.
	AuthorizerCacheTTLSeconds int
	// ThrottleRateLimit (requests per second, steady) and ThrottleBurstLimit
	// apply to the whole stage, before any Lambda runs: they are the ceiling
	// of the whole API, keygate's routes and every product route behind it,
	// all callers together. Beyond it API Gateway answers 429 itself. The
	// default is 100/200, and ProductionThrottle* for the prod stage.
	ThrottleRateLimit  float64
	ThrottleBurstLimit int
	// LogRetentionDays applies to every log group of the stack.
	LogRetentionDays int
	// LogLevel is KEYGATE_LOG_LEVEL and the Lambda application log level.
	LogLevel string
	// MFA is the new user pool's MFA mode: off, optional or required.
	MFA string
	// APIGatewayCloudWatchRole makes the stack set the region's API Gateway
	// account CloudWatch role, without which access and execution logging
	// cannot be enabled. Turn it off if the account already has one.
	APIGatewayCloudWatchRole bool

	// MaxWorkspaceKeys caps a workspace's active keys.
	MaxWorkspaceKeys int
	// MaxKeyLifetimeDays is how far ahead a key's expiresAt may be.
	MaxKeyLifetimeDays int
	// StoreTimeoutMs is the deadline of each DynamoDB call; it must stay
	// below the authorizer's 5 s timeout so a stalled store is a 503.
	StoreTimeoutMs int
	// KeyCacheSeconds is the authorizer's in-process positive key cache.
	KeyCacheSeconds int
	// AllowedOrigins are web origins allowed by CORS besides the console's
	// own, which the stack always adds.
	AllowedOrigins []string
	// GitHubKeysURL is where secretscan fetches GitHub's signing keys.
	GitHubKeysURL string
	// LeakedKeyAction is what a verified leak report does: revoke or flag.
	LeakedKeyAction string
	// AlarmTopicArn, when set, is the SNS topic every alarm notifies.
	AlarmTopicArn string
	// AuthorizerReservedConcurrency caps (and reserves) the authorizer's
	// concurrent executions; 0, the default, leaves it unreserved so that a
	// new account's low concurrency quota can take the stack. See
	// abuseCeiling.
	AuthorizerReservedConcurrency int
	// AuditRetentionDays is how long audit records are kept (table TTL).
	AuditRetentionDays int
}

// Production reports whether the stage keeps its data on stack deletion.
func (s Settings) Production() bool { return s.Stage == ProductionStage }

// ExistingUserPool reports whether the stack uses a pool it does not own.
func (s Settings) ExistingUserPool() bool { return s.UserPoolID != "" }

// TierCapsString renders the caps the way KEYGATE_TIER_CAPS spells them, in
// tier order.
func (s Settings) TierCapsString() string {
	var parts []string
	for _, tier := range paidTiers {
		if n, ok := s.TierCaps[tier]; ok {
			parts = append(parts, fmt.Sprintf("%s=%d", tier, n))
		}
	}
	return strings.Join(parts, ",")
}

// UserPoolRegion is the region of an existing pool, which Cognito spells into
// the pool id (us-east-1_AbCdEf123).
func (s Settings) UserPoolRegion() string {
	region, _, _ := strings.Cut(s.UserPoolID, "_")
	return region
}

var paidTiers = []string{"pro", "team", "enterprise"}

// The stage throttle's default for the prod stage, where the API in front of
// a product carries its real traffic: ten times the other stages', still a
// tenth of API Gateway's regional account limit (10 000 requests/s).
const (
	ProductionThrottleRateLimit  = 1000
	ProductionThrottleBurstLimit = 2000
)

// DefaultSettings are the contract's defaults; cdk.json repeats them.
func DefaultSettings() Settings {
	return Settings{
		Stage:                     "dev",
		DefaultDailyLimit:         250,
		TierCaps:                  map[string]int{"pro": 10_000, "team": 50_000, "enterprise": 1_000_000},
		MaxActiveKeys:             50,
		AuthorizerCacheTTLSeconds: 300,
		ThrottleRateLimit:         100,
		ThrottleBurstLimit:        200,
		LogRetentionDays:          30,
		LogLevel:                  "info",
		MFA:                       "optional",
		APIGatewayCloudWatchRole:  true,

		MaxWorkspaceKeys:              100,
		MaxKeyLifetimeDays:            366,
		StoreTimeoutMs:                2000,
		KeyCacheSeconds:               60,
		GitHubKeysURL:                 "https://api.github.com/meta/public_keys/secret_scanning",
		LeakedKeyAction:               "revoke",
		AuthorizerReservedConcurrency: 0,
		AuditRetentionDays:            365,
	}
}

// SettingsFromContext reads the settings from the CDK context of node (the
// app), starting from DefaultSettings. It names the key that is wrong.
func SettingsFromContext(node constructs.Node) (Settings, error) {
	return ParseSettings(func(key string) any { return node.TryGetContext(jsii.String(key)) })
}

var (
	stagePattern    = regexp.MustCompile(`^[a-z][a-z0-9-]{0,23}$`)
	poolIDPattern   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d_[0-9A-Za-z]+$`)
	clientIDPattern = regexp.MustCompile(`^[\w+]{1,128}$`)
	// An SNS topic in any partition: arn:aws:sns:eu-west-1:123456789012:name.
	topicArnPattern = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)
)

// ParseSettings reads settings through lookup, which returns a context value:
// a string when given with -c, a JSON number, bool or string from cdk.json, or
// nil when absent.
func ParseSettings(lookup func(key string) any) (Settings, error) {
	s := DefaultSettings()
	var err error
	if s.Stage, err = ctxString(lookup, CtxStage, s.Stage); err != nil {
		return Settings{}, err
	}
	if !stagePattern.MatchString(s.Stage) {
		return Settings{}, fmt.Errorf("context %s=%q: want a lowercase name like dev or prod (letters, digits, '-', at most 24)", CtxStage, s.Stage)
	}
	if s.Production() {
		s.ThrottleRateLimit, s.ThrottleBurstLimit = ProductionThrottleRateLimit, ProductionThrottleBurstLimit
	}

	if s.UserPoolID, err = ctxString(lookup, CtxUserPoolID, ""); err != nil {
		return Settings{}, err
	}
	clients, err := ctxString(lookup, CtxUserPoolClientIDs, "")
	if err != nil {
		return Settings{}, err
	}
	for _, id := range strings.Split(clients, ",") {
		if id = strings.TrimSpace(id); id != "" {
			s.UserPoolClientIDs = append(s.UserPoolClientIDs, id)
		}
	}
	switch {
	case s.UserPoolID == "" && len(s.UserPoolClientIDs) > 0:
		return Settings{}, fmt.Errorf("context %s is set but %s is not: give both to use an existing pool, or neither to create one", CtxUserPoolClientIDs, CtxUserPoolID)
	case s.UserPoolID != "" && len(s.UserPoolClientIDs) == 0:
		return Settings{}, fmt.Errorf("context %s is set but %s is not: name the app client ids (comma-separated) whose tokens keygate accepts", CtxUserPoolID, CtxUserPoolClientIDs)
	case s.UserPoolID != "" && !poolIDPattern.MatchString(s.UserPoolID):
		return Settings{}, fmt.Errorf("context %s=%q is not a Cognito user pool id like us-east-1_AbCdEf123", CtxUserPoolID, s.UserPoolID)
	}
	for _, id := range s.UserPoolClientIDs {
		if !clientIDPattern.MatchString(id) {
			return Settings{}, fmt.Errorf("context %s: %q is not a Cognito app client id", CtxUserPoolClientIDs, id)
		}
	}

	if s.DefaultDailyLimit, err = ctxInt(lookup, CtxDefaultDailyLimit, s.DefaultDailyLimit, 1, math.MaxInt32); err != nil {
		return Settings{}, err
	}
	caps, err := ctxString(lookup, CtxTierCaps, "")
	if err != nil {
		return Settings{}, err
	}
	if caps != "" {
		if err := parseTierCaps(caps, s.TierCaps); err != nil {
			return Settings{}, err
		}
	}
	for _, tier := range paidTiers {
		if s.TierCaps[tier] < s.DefaultDailyLimit {
			return Settings{}, fmt.Errorf("context %s=%d is above the %s cap %d: a %s user could not create a key without naming a limit", CtxDefaultDailyLimit, s.DefaultDailyLimit, tier, s.TierCaps[tier], tier)
		}
	}
	if s.MaxActiveKeys, err = ctxInt(lookup, CtxMaxActiveKeys, s.MaxActiveKeys, 1, 10_000); err != nil {
		return Settings{}, err
	}
	// API Gateway accepts 0..3600 seconds for an authorizer's result TTL.
	if s.AuthorizerCacheTTLSeconds, err = ctxInt(lookup, CtxAuthorizerCacheTTL, s.AuthorizerCacheTTLSeconds, 0, 3600); err != nil {
		return Settings{}, err
	}
	rate, err := ctxInt(lookup, CtxThrottleRateLimit, int(s.ThrottleRateLimit), 1, 1_000_000)
	if err != nil {
		return Settings{}, err
	}
	s.ThrottleRateLimit = float64(rate)
	if s.ThrottleBurstLimit, err = ctxInt(lookup, CtxThrottleBurstLimit, s.ThrottleBurstLimit, 1, 1_000_000); err != nil {
		return Settings{}, err
	}
	if s.LogRetentionDays, err = ctxInt(lookup, CtxLogRetentionDays, s.LogRetentionDays, 1, 3653); err != nil {
		return Settings{}, err
	}
	if _, ok := retentionDays[s.LogRetentionDays]; !ok {
		return Settings{}, fmt.Errorf("context %s=%d is not a CloudWatch Logs retention; one of %v", CtxLogRetentionDays, s.LogRetentionDays, retentionChoices())
	}
	if s.LogLevel, err = ctxString(lookup, CtxLogLevel, s.LogLevel); err != nil {
		return Settings{}, err
	}
	s.LogLevel = strings.ToLower(s.LogLevel)
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, s.LogLevel) {
		return Settings{}, fmt.Errorf("context %s=%q: want debug, info, warn or error", CtxLogLevel, s.LogLevel)
	}
	if s.MFA, err = ctxString(lookup, CtxMFA, s.MFA); err != nil {
		return Settings{}, err
	}
	s.MFA = strings.ToLower(s.MFA)
	if !slices.Contains([]string{"off", "optional", "required"}, s.MFA) {
		return Settings{}, fmt.Errorf("context %s=%q: want off, optional or required", CtxMFA, s.MFA)
	}
	if s.APIGatewayCloudWatchRole, err = ctxBool(lookup, CtxAPIGatewayCloudWatchRole, s.APIGatewayCloudWatchRole); err != nil {
		return Settings{}, err
	}
	if err := parseRound2(lookup, &s); err != nil {
		return Settings{}, err
	}
	if s.AuditRetentionDays, err = ctxInt(lookup, CtxAuditRetentionDays, s.AuditRetentionDays, 1, 3650); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// parseRound2 reads the settings of workspaces, lifecycle, deadlines, CORS,
// leaked keys and operability.
func parseRound2(lookup func(string) any, s *Settings) error {
	var err error
	if s.MaxWorkspaceKeys, err = ctxInt(lookup, CtxMaxWorkspaceKeys, s.MaxWorkspaceKeys, 1, 10_000); err != nil {
		return err
	}
	if s.MaxKeyLifetimeDays, err = ctxInt(lookup, CtxMaxKeyLifetimeDays, s.MaxKeyLifetimeDays, 1, 3653); err != nil {
		return err
	}
	// Below the authorizer's 5 s Lambda timeout with room for the SDK's
	// retry and the response, so a stalled store answers 503 rather than
	// timing out the Lambda.
	if s.StoreTimeoutMs, err = ctxInt(lookup, CtxStoreTimeoutMs, s.StoreTimeoutMs, 50, 4000); err != nil {
		return err
	}
	if s.KeyCacheSeconds, err = ctxInt(lookup, CtxKeyCacheSeconds, s.KeyCacheSeconds, 0, 3600); err != nil {
		return err
	}

	origins, err := ctxString(lookup, CtxAllowedOrigins, "")
	if err != nil {
		return err
	}
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		if err := checkOrigin(o); err != nil {
			return fmt.Errorf("context %s: %q %v", CtxAllowedOrigins, o, err)
		}
		if !slices.Contains(s.AllowedOrigins, o) {
			s.AllowedOrigins = append(s.AllowedOrigins, o)
		}
	}

	if s.GitHubKeysURL, err = ctxString(lookup, CtxGitHubKeysURL, s.GitHubKeysURL); err != nil {
		return err
	}
	if u, perr := url.Parse(s.GitHubKeysURL); perr != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("context %s=%q: want an https:// URL", CtxGitHubKeysURL, s.GitHubKeysURL)
	}
	if s.LeakedKeyAction, err = ctxString(lookup, CtxLeakedKeyAction, s.LeakedKeyAction); err != nil {
		return err
	}
	s.LeakedKeyAction = strings.ToLower(s.LeakedKeyAction)
	if !slices.Contains([]string{"revoke", "flag"}, s.LeakedKeyAction) {
		return fmt.Errorf("context %s=%q: want revoke or flag", CtxLeakedKeyAction, s.LeakedKeyAction)
	}

	if s.AlarmTopicArn, err = ctxString(lookup, CtxAlarmTopicArn, ""); err != nil {
		return err
	}
	if s.AlarmTopicArn != "" && !topicArnPattern.MatchString(s.AlarmTopicArn) {
		return fmt.Errorf("context %s=%q is not an SNS topic ARN like arn:aws:sns:eu-west-1:123456789012:alarms", CtxAlarmTopicArn, s.AlarmTopicArn)
	}
	// 0 means "not reserved": Lambda reads a reservation of 0 as "never run".
	if s.AuthorizerReservedConcurrency, err = ctxInt(lookup, CtxAuthorizerReservedConcurrency, s.AuthorizerReservedConcurrency, 0, 100_000); err != nil {
		return err
	}
	return nil
}

// checkOrigin accepts a web origin exactly as a browser sends it in the
// Origin header: scheme://host[:port], lowercase, nothing after. Plain http
// only for a loopback host (a console under development on this machine).
// The strict character set also keeps the value safe inside the preflight's
// VTL template and the CSP.
func checkOrigin(o string) error {
	if originPattern.MatchString(o) {
		return nil
	}
	if strings.HasPrefix(o, "http://") {
		return fmt.Errorf("is plain http: want https, or http only on localhost, 127.0.0.1 or [::1]")
	}
	return fmt.Errorf("is not an origin: want https://host[:port] in lowercase, like https://app.example.com, with no path, trailing slash or wildcard")
}

var originPattern = regexp.MustCompile(`^(https://[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|http://(localhost|127\.0\.0\.1|\[::1\]))(:[0-9]{1,5})?$`)

// AllowedOriginsString renders the extra origins the way
// KEYGATE_ALLOWED_ORIGINS spells them.
func (s Settings) AllowedOriginsString() string { return strings.Join(s.AllowedOrigins, ",") }

func parseTierCaps(text string, caps map[string]int) error {
	for _, part := range strings.Split(text, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		name = strings.ToLower(strings.TrimSpace(name))
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if !ok || !slices.Contains(paidTiers, name) || err != nil || n < 1 {
			return fmt.Errorf("context %s: %q is not tier=cap (tiers pro, team, enterprise; cap a positive integer)", CtxTierCaps, part)
		}
		caps[name] = n
	}
	return nil
}

func ctxString(lookup func(string) any, key, def string) (string, error) {
	switch v := lookup(key).(type) {
	case nil:
		return def, nil
	case string:
		if v = strings.TrimSpace(v); v == "" {
			return def, nil
		}
		return v, nil
	default:
		return "", fmt.Errorf("context %s=%v: want a string", key, v)
	}
}

func ctxInt(lookup func(string) any, key string, def, lo, hi int) (int, error) {
	var n int
	switch v := lookup(key).(type) {
	case nil:
		return def, nil
	case float64:
		if v != math.Trunc(v) {
			return 0, fmt.Errorf("context %s=%v: want a whole number", key, v)
		}
		n = int(v)
	case string:
		if strings.TrimSpace(v) == "" {
			return def, nil
		}
		var err error
		if n, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
			return 0, fmt.Errorf("context %s=%q: want a whole number", key, v)
		}
	default:
		return 0, fmt.Errorf("context %s=%v: want a whole number", key, v)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("context %s=%d: want %d..%d", key, n, lo, hi)
	}
	return n, nil
}

func ctxBool(lookup func(string) any, key string, def bool) (bool, error) {
	switch v := lookup(key).(type) {
	case nil:
		return def, nil
	case bool:
		return v, nil
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return false, fmt.Errorf("context %s=%q: want true or false", key, v)
		}
		return b, nil
	default:
		return false, fmt.Errorf("context %s=%v: want true or false", key, v)
	}
}

// retentionDays maps the day counts CloudWatch Logs accepts to CDK's names.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

func retentionChoices() []int {
	var days []int
	for d := range retentionDays {
		days = append(days, d)
	}
	slices.Sort(days)
	return days
}
