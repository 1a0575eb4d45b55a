package stack

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/route"
)

// ConstructProps configure NewConstruct.
type ConstructProps struct {
	Settings Settings
	// BuildDir holds <name>/bootstrap for every name in LambdaNames:
	// keygate's linux/arm64 binaries, which `make build` writes to build/.
	BuildDir string
	// ConsoleDir is the built web console to deploy; empty deploys none.
	ConsoleDir string
	// RestApi is the API to add keygate to, with its deployment stage; nil
	// creates one (keygate-<stage>, with the throttle and logging settings).
	RestApi awsapigateway.RestApi
}

// Keygate is keygate in a CDK app: what NewConstruct defined, exposed for
// tests, the app's outputs and infra/keygate.
type Keygate struct {
	Stack awscdk.Stack
	// Node holds keygate's resources (not the API's methods, which are the
	// API's children).
	Node     constructs.Construct
	Settings Settings
	Table    awsdynamodb.Table
	// Functions are keygate's own Lambdas by name in LambdaNames; a
	// product's are in Product.
	Functions  map[string]awslambda.Function
	Authorizer awsapigateway.RequestAuthorizer
	API        awsapigateway.RestApi
	// UserPool and UserPoolClient are nil when Settings name an existing pool.
	UserPool       awscognito.UserPool
	UserPoolClient awscognito.UserPoolClient
	// Console is nil when no console is deployed.
	Console    *Console
	Monitoring *Monitoring
	Audit      *Audit
	// Product are the routes AddRoute added, in order.
	Product route.Table

	pool userPoolRef
	// ownAPI: the API is keygate's (NewConstruct made it), not the product's.
	ownAPI bool
	// origins are the CORS origins, the console's first when there is one.
	origins []string
	// env is the environment of keygate's functions (but pretokengen).
	env        map[string]*string
	validator  awsapigateway.RequestValidator
	preflights map[string]bool // paths with keygate's CORS preflight
	products   []*productFunction
}

// NewConstruct adds keygate to scope under id: the table, keygate's Lambdas
// and authorizer, keygate's routes on the API (props.RestApi, or one it
// creates), the gateway responses, CORS preflights, the user pool (unless
// the settings name one), the console when props.ConsoleDir is set, the
// alarms and the dashboard. It fails before defining anything if a Lambda
// binary or the named console build is missing.
func NewConstruct(scope constructs.Construct, id string, props ConstructProps) (*Keygate, error) {
	s := props.Settings
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := checkBuildDir(props.BuildDir); err != nil {
		return nil, err
	}
	var build *consoleBuild
	if props.ConsoleDir != "" {
		b, err := readConsoleBuild(props.ConsoleDir)
		if err != nil {
			return nil, err
		}
		build = &b
	}

	node := constructs.NewConstruct(scope, jsii.String(id))
	awscdk.Tags_Of(node).Add(jsii.String("project"), jsii.String("keygate"), nil)
	awscdk.Tags_Of(node).Add(jsii.String("stage"), jsii.String(s.Stage), nil)
	k := &Keygate{Stack: awscdk.Stack_Of(scope), Node: node, Settings: s, preflights: map[string]bool{}}
	k.Table = newTable(node, s)
	k.pool = k.identity(node, s)

	// The API first (its origin goes into the console's CSP), then the
	// console (its origin goes into the functions' CORS setting), then the
	// functions, then the routes that invoke them.
	k.API, k.ownAPI = props.RestApi, props.RestApi == nil
	if k.ownAPI {
		k.API = newRestAPI(node, s)
	}
	if build != nil {
		apiOrigin := fmt.Sprintf("https://%s.execute-api.%s.%s", *k.API.RestApiId(), *awscdk.Aws_REGION(), *awscdk.Aws_URL_SUFFIX())
		k.Console = newConsoleHosting(node, s, apiOrigin, k.pool.origin())
		// The console's origin first: gateway-made errors name it.
		k.origins = append(k.origins, *k.Console.Origin)
	}
	k.origins = append(k.origins, s.AllowedOrigins...)

	k.env = map[string]*string{
		"KEYGATE_TABLE":                 k.Table.TableName(),
		"KEYGATE_ISSUER":                k.pool.issuer(),
		"KEYGATE_CLIENT_IDS":            k.pool.clientIDs,
		"KEYGATE_DEFAULT_DAILY_LIMIT":   jsii.String(fmt.Sprint(s.DefaultDailyLimit)),
		"KEYGATE_TIER_CAPS":             jsii.String(s.TierCapsString()),
		"KEYGATE_MAX_ACTIVE_KEYS":       jsii.String(fmt.Sprint(s.MaxActiveKeys)),
		"KEYGATE_LOG_LEVEL":             jsii.String(s.LogLevel),
		"KEYGATE_MAX_WORKSPACE_KEYS":    jsii.String(fmt.Sprint(s.MaxWorkspaceKeys)),
		"KEYGATE_MAX_KEY_LIFETIME_DAYS": jsii.String(fmt.Sprint(s.MaxKeyLifetimeDays)),
		"KEYGATE_STORE_TIMEOUT_MS":      jsii.String(fmt.Sprint(s.StoreTimeoutMs)),
		"KEYGATE_KEY_CACHE_SECONDS":     jsii.String(fmt.Sprint(s.KeyCacheSeconds)),
		"KEYGATE_ALLOWED_ORIGINS":       jsii.String(strings.Join(k.origins, ",")),
		"KEYGATE_GITHUB_KEYS_URL":       jsii.String(s.GitHubKeysURL),
		"KEYGATE_LEAKED_KEY_ACTION":     jsii.String(s.LeakedKeyAction),
		"KEYGATE_AUDIT_RETENTION_DAYS":  jsii.String(fmt.Sprint(s.AuditRetentionDays)),
	}
	k.Functions = newFunctions(node, s, props.BuildDir, k.env, k.Table)
	attachPreTokenGeneration(node, s, k.UserPool, k.Functions["pretokengen"])
	k.addRoutes()
	k.Audit = newAudit(node, s, k.Table, k.Functions)

	if build != nil {
		k.Console.deploy(node, s, *build, ConsoleConfig{
			APIURL: k.API.Url(), Region: k.pool.region, UserPoolID: k.pool.userPoolID, ClientID: k.pool.consoleClientID,
			DefaultDailyLimit: s.DefaultDailyLimit, MaxKeyLifetimeDays: s.MaxKeyLifetimeDays, TierCaps: s.TierCaps,
		})
	}
	k.Monitoring = newMonitoring(node, s, k)
	node.Node().AddValidation(&envLimit{k})
	return k, nil
}

// UserPoolID, UserPoolClientIDs (comma-separated) and Issuer name the
// Cognito user pool whose tokens keygate accepts, and the iss claim of its
// tokens.
func (k *Keygate) UserPoolID() *string        { return k.pool.userPoolID }
func (k *Keygate) UserPoolClientIDs() *string { return k.pool.clientIDs }
func (k *Keygate) Issuer() *string            { return k.pool.issuer() }

// Origins are the web origins CORS allows: the console's first when there is
// one, then the allowedOrigins setting.
func (k *Keygate) Origins() []string { return append([]string(nil), k.origins...) }

// check refuses settings no CDK context could have produced (a Settings
// built by hand rather than from DefaultSettings or the context).
func (s Settings) check() error {
	switch {
	case !stagePattern.MatchString(s.Stage):
		return fmt.Errorf("settings: stage %q is not a lowercase name like dev or prod (start from DefaultSettings or SettingsFromContext)", s.Stage)
	case retentionDays[s.LogRetentionDays] == "":
		return fmt.Errorf("settings: logRetentionDays %d is not a CloudWatch Logs retention; one of %v", s.LogRetentionDays, retentionChoices())
	case s.StoreTimeoutMs < 50 || s.StoreTimeoutMs > 4000:
		return fmt.Errorf("settings: storeTimeoutMs %d: want 50..4000", s.StoreTimeoutMs)
	case s.DefaultDailyLimit < 1 || s.MaxActiveKeys < 1 || s.MaxWorkspaceKeys < 1 || s.MaxKeyLifetimeDays < 1 || s.AuditRetentionDays < 1:
		return errors.New("settings: the limits (defaultDailyLimit, maxActiveKeys, maxWorkspaceKeys, maxKeyLifetimeDays, auditRetentionDays) must be positive (start from DefaultSettings or SettingsFromContext)")
	}
	return nil
}
