// Package keygate is the CDK construct that puts keygate in front of a REST
// API on AWS: API keys and sign-in tokens checked by one REQUEST authorizer,
// each key's scopes, allowed networks and exact daily budget enforced on
// every route, keygate's key-management routes, and optionally its web
// console. A product's team adds it to its own API in a CDK app written in
// Go, then puts each of its Lambdas behind it with AddRoute:
//
//	api := awsapigateway.NewRestApi(stack, jsii.String("Api"), &awsapigateway.RestApiProps{...})
//	kg, err := keygate.New(stack, "Keygate", &keygate.Props{RestApi: api, BuildDir: "keygate/build"})
//	for _, rt := range reports.Routes { // route.Table: method, path, scope, cost
//		if _, err := kg.AddRoute(rt, reportsFunction); err != nil { ... }
//	}
//
// New defines keygate's DynamoDB table, its Lambdas (the authorizer, one per
// key-management route, the Cognito pre-token-generation trigger and the
// audit jobs) from BuildDir, keygate's routes on the API with CORS preflights
// and gateway responses that answer in keygate's error envelope, the Cognito
// user pool (or uses an existing one, Settings.UserPoolID), the audit event
// bus, the alarms and a dashboard; the console only when ConsoleDir is set.
//
// AddRoute puts a product's Lambda on the API as one route, behind the
// authorizer: API Gateway refuses a missing, unknown or revoked credential
// and a key whose scopes do not include the route's, without invoking the
// Lambda. The Lambda runs its handler with the guard package
// (github.com/keygate/keygate/guard), which meters each key request at the
// route's cost in one conditional write on keygate's table; AddRoute sets
// what guard reads (KEYGATE_TABLE, KEYGATE_ROUTES: the routes that function
// serves, KEYGATE_ALLOWED_ORIGINS, KEYGATE_STORE_TIMEOUT_MS) and grants the
// function's role the meter's actions on the table (MeterActions), nothing
// else. keygate's functions learn every product route, so GET /v1/scopes
// lists the product's scopes and keys can be limited to them. Routes are
// declared once, in a route.Table (github.com/keygate/keygate/route) that
// the CDK app, the Lambda and keygate's local mode all read.
//
// Lambda's 4 KB limit on a function's environment bounds how many product
// routes one keygate can carry: about 20 with descriptions of 30 characters.
// Synthesis fails with a message saying so when they do not fit.
//
// The names keygate gives account-wide resources (alarms, the dashboard,
// CloudFront's policies) carry "keygate-<stage>": deploy a product's keygate
// and keygate's own stack in one account and region under different stages.
package keygate

import (
	"reflect"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/infra/stack"
	"github.com/keygate/keygate/route"
)

// Settings are keygate's deployment choices: the stage that names its
// resources, an existing Cognito user pool, key limits, the authorizer's
// cache, the stage throttle and logging of an API keygate creates, log
// retention, CORS origins and the rest. Start from DefaultSettings or
// SettingsFromContext; keygate's README lists each setting as a CDK context
// key.
type Settings = stack.Settings

// DefaultSettings are keygate's defaults (stage dev, a new user pool).
func DefaultSettings() Settings { return stack.DefaultSettings() }

// SettingsFromContext reads the settings from the CDK context of node (the
// app), starting from DefaultSettings: the keys of keygate's cdk.json, given
// with -c key=value. It names the key that is wrong.
func SettingsFromContext(node constructs.Node) (Settings, error) {
	return stack.SettingsFromContext(node)
}

// LambdaNames are keygate's Lambdas, each read from
// <BuildDir>/<name>/bootstrap.
func LambdaNames() []string { return append([]string(nil), stack.LambdaNames...) }

// MeterActions are what AddRoute grants a product's Lambda on keygate's
// table, and all it grants: the meter's conditional UpdateItem, the GetItem
// that explains a refusal, the PutItem that archives yesterday's count.
func MeterActions() []string { return stack.MeterActions() }

// Props configure New.
type Props struct {
	// RestApi is the product's REST API to add keygate to, with its
	// deployment stage (a RestApi's default). Its stage settings stay the
	// product's. Nil: keygate creates one, keygate-<stage>, with the stage
	// throttle, access log, execution logging and tracing of its settings.
	RestApi awsapigateway.RestApi
	// Settings are keygate's settings; the zero value is DefaultSettings.
	Settings Settings
	// BuildDir holds keygate's Lambdas, <name>/bootstrap for each of
	// LambdaNames, built for provided.al2023 on arm64 (`make build` in
	// keygate's repository writes them to build/).
	BuildDir string
	// ConsoleDir is keygate's built web console (`make console` writes
	// console/dist), deployed on S3 and CloudFront with its origin allowed
	// by CORS. Empty, the default: no console.
	ConsoleDir string
}

// Keygate is keygate added to a REST API.
type Keygate struct{ k *stack.Keygate }

// New adds keygate to scope under id. It fails before defining anything when
// a Lambda binary or the console build is missing, or the settings are not
// ones the CDK context could give.
func New(scope constructs.Construct, id string, props *Props) (*Keygate, error) {
	if props == nil {
		props = &Props{}
	}
	s := props.Settings
	if reflect.ValueOf(s).IsZero() {
		s = DefaultSettings()
	}
	k, err := stack.NewConstruct(scope, id, stack.ConstructProps{
		Settings: s, BuildDir: props.BuildDir, ConsoleDir: props.ConsoleDir, RestApi: props.RestApi,
	})
	if err != nil {
		return nil, err
	}
	return &Keygate{k: k}, nil
}

// AddRoute puts fn on the API as rt, behind keygate's authorizer (a route
// declared Public has none), and returns the method. fn is a Lambda defined
// in the app, any construct built on awslambda.Function, with its role; one
// Lambda may serve several routes, each added with its own AddRoute. The
// first time AddRoute sees fn it sets fn's environment for the guard package
// and grants fn's role MeterActions on the table. Routes may be added at any
// point before synthesis: everything that lists them is rendered then.
//
// It refuses a route that route.Route.Validate refuses or that is already on
// the API through keygate (keygate's own routes included), a route naming a
// function (Route.Function) that another Lambda serves or that is one of
// keygate's, and a function imported by ARN, whose environment and role the
// app cannot change.
func (k *Keygate) AddRoute(rt route.Route, fn awslambda.IFunction) (awsapigateway.Method, error) {
	return k.k.AddRoute(rt, fn)
}

// RestApi is the API keygate is on: Props.RestApi, or the one New created.
func (k *Keygate) RestApi() awsapigateway.RestApi { return k.k.API }

// Table is keygate's DynamoDB table of keys, budgets and audit records.
func (k *Keygate) Table() awsdynamodb.ITable { return k.k.Table }

// Authorizer is keygate's REQUEST authorizer, for a method the app adds
// itself (AddRoute is the way that also meters it).
func (k *Keygate) Authorizer() awsapigateway.IAuthorizer { return k.k.Authorizer }

// UserPoolID is the Cognito user pool whose tokens keygate accepts.
func (k *Keygate) UserPoolID() *string { return k.k.UserPoolID() }

// UserPoolClientIDs are the app clients whose tokens keygate accepts,
// comma-separated.
func (k *Keygate) UserPoolClientIDs() *string { return k.k.UserPoolClientIDs() }

// Issuer is the iss claim of the pool's tokens.
func (k *Keygate) Issuer() *string { return k.k.Issuer() }

// ConsoleURL is the web console's address, nil without a console.
func (k *Keygate) ConsoleURL() *string {
	if k.k.Console == nil {
		return nil
	}
	return jsii.String(*k.k.Console.Origin + "/")
}
