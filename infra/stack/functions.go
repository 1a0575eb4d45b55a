package stack

import (
	"path/filepath"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// LambdaNames are the Lambdas of the stack, each built by `make build` into
// build/<name>/bootstrap (mk/infra.mk's INFRA_LAMBDAS lists the same names):
// the authorizer, each route's Lambda in Routes order, the Cognito trigger,
// the audit jobs (audit.go).
var LambdaNames = lambdaNames()

func lambdaNames() []string {
	names := []string{"authorizer"}
	for _, r := range Routes {
		names = append(names, r.Lambda)
	}
	return append(append(names, "pretokengen"), AuditLambdas...)
}

// lambdaSpec is one Lambda: its sizing and exactly the DynamoDB calls its code
// makes. TestGrantsMatchBehaviour proves the calls against what the e2e suite
// recorded each function doing (testdata/operations.json), both ways.
type lambdaSpec struct {
	id          string // construct id
	description string
	memoryMB    int
	timeoutSec  int
	tableOps    []string // dynamodb actions on the table
	indexOps    []string // dynamodb actions on the byOwner index
	// bareEnv: the function gets only KEYGATE_LOG_LEVEL. The Cognito trigger
	// needs no table or issuer, and naming the pool in its environment would
	// be a dependency cycle (the pool names the function as its trigger).
	bareEnv bool
}

// meterOps are the calls of the meter, which every function behind the
// authorizer runs for a key-authenticated request: the conditional UpdateItem
// on the budget (the one hot-path write), GetItem on its failure path only,
// PutItem archiving yesterday's counter at the first request of a day, and
// the key.limit_reached record of a day's first 429 (an intent PutItem, the
// budget's mark UpdateItem, the record PutItem). They are all a product's
// Lambda needs: the construct grants it exactly these on the table
// (TestGrantsMatchBehaviour holds the example product's recorded calls to
// them).
var meterOps = []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}

// auditOps are what a function that changes keys adds for the audit log:
// DeleteItem withdraws an intent whose change was refused.
var auditOps = []string{"dynamodb:DeleteItem"}

// MeterActions are the DynamoDB actions AddRoute grants a product's Lambda
// on the table: the meter's (meterOps), nothing else.
func MeterActions() []string { return slices.Clone(meterOps) }

// metered adds the meter's calls to a route function's own, sorted and
// without repeats, so the policy reads like design.md's table.
func metered(own ...string) []string {
	ops := append(slices.Clone(meterOps), own...)
	slices.Sort(ops)
	return slices.Compact(ops)
}

// The route functions make a few DynamoDB calls each. 256 MB keeps JSON and
// TLS work off the critical path at a cost close to 128 MB's; 10 s covers
// several store calls at their deadline (storeTimeoutMs) and stays well under
// the REST API's 29 s integration timeout, so the client gets the function's
// own 503 envelope rather than a gateway timeout.
const routeMemoryMB, routeTimeoutSec = 256, 10

var lambdaSpecs = map[string]lambdaSpec{
	// The authorizer is on every request's path. RS256 verification and the
	// cold-start TLS handshake to fetch the JWKS are CPU-bound, and Lambda
	// hands out CPU in proportion to memory, so it gets more than the 128 MB
	// minimum. 5 s: a GetItem takes milliseconds and has its own deadline
	// (storeTimeoutMs, at most 4 s); failing fast turns into a 503 envelope
	// instead of a client waiting for API Gateway's own limit.
	"authorizer": {id: "Authorizer", description: "keygate REQUEST authorizer: API key or Cognito JWT to principal",
		memoryMB: 256, timeoutSec: 5, tableOps: []string{"dynamodb:GetItem"}},

	"createkey": {id: "CreateKey", description: "keygate POST /v1/api-keys",
		tableOps: metered(auditOps...), indexOps: []string{"dynamodb:Query"}}, // Query: slot-counter repair
	"listkeys": {id: "ListKeys", description: "keygate GET /v1/api-keys",
		tableOps: metered("dynamodb:BatchGetItem"), indexOps: []string{"dynamodb:Query"}},
	// BatchGetItem: the key's budget (its limit and today's use) for the
	// answer.
	"updatekey": {id: "UpdateKey", description: "keygate PATCH /v1/api-keys/{prefix}",
		tableOps: metered(append(slices.Clone(auditOps), "dynamodb:BatchGetItem")...)},
	"revokekey": {id: "RevokeKey", description: "keygate DELETE /v1/api-keys/{prefix}",
		tableOps: metered(auditOps...)},
	// BatchGetItem: the predecessor's budget, which the successor shares.
	"rotatekey": {id: "RotateKey", description: "keygate POST /v1/api-keys/{prefix}/rotate",
		tableOps: metered("dynamodb:BatchGetItem", "dynamodb:BatchWriteItem")}, // BatchWriteItem: the two audit intents
	// Unmetered: a key is checked with one consistent read of its budget
	// and nothing is counted, so the meter's writes are not needed.
	"scopes": {id: "Scopes", description: "keygate GET /v1/scopes",
		tableOps: []string{"dynamodb:GetItem"}},
	"usage": {id: "Usage", description: "keygate GET /v1/usage",
		tableOps: metered("dynamodb:BatchGetItem", "dynamodb:Query"), indexOps: []string{"dynamodb:Query"}},

	"wslistkeys": {id: "WorkspaceListKeys", description: "keygate GET /api/v1/workspaces/{id}/api-keys",
		tableOps: metered("dynamodb:BatchGetItem"), indexOps: []string{"dynamodb:Query"}},
	"wscreatekey": {id: "WorkspaceCreateKey", description: "keygate POST /api/v1/workspaces/{id}/api-keys",
		tableOps: metered(auditOps...), indexOps: []string{"dynamodb:Query"}},
	"wsrevokekey": {id: "WorkspaceRevokeKey", description: "keygate DELETE /api/v1/workspaces/{id}/api-keys/{keyId}",
		tableOps: metered(auditOps...)},
	"wsrotatekey": {id: "WorkspaceRotateKey", description: "keygate POST /api/v1/workspaces/{id}/api-keys/{keyId}/rotate",
		tableOps: metered("dynamodb:BatchGetItem", "dynamodb:BatchWriteItem")}, // BatchWriteItem: the two audit intents

	// No authorizer and no meter: it reads the reported key and revokes or
	// flags it. It also fetches GitHub's public key list over HTTPS (no IAM).
	"secretscan": {id: "SecretScan", description: "keygate POST /v1/secret-scanning/github (GitHub secret scanning partner reports)",
		tableOps: []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}}, // Put/Delete: audit records
	// Cognito waits at most 5 s for a trigger, and the handler only copies
	// two attributes into the token's claims: the smallest size is plenty.
	"pretokengen": {id: "PreTokenGeneration", description: "keygate Cognito pre-token-generation trigger (V2 event): custom:tier and custom:teamId into access tokens",
		memoryMB: 128, timeoutSec: 5, bareEnv: true},
}

// applicationLogLevel is the Lambda's application log level for a logLevel
// setting: never above INFO, because Lambda drops JSON lines without a level
// below it, and the CloudWatch EMF lines the metrics ride on carry none. The
// functions filter their own lines at KEYGATE_LOG_LEVEL (app.LambdaLogger).
func applicationLogLevel(logLevel string) awslambda.ApplicationLogLevel {
	if logLevel == "debug" {
		return awslambda.ApplicationLogLevel_DEBUG
	}
	return awslambda.ApplicationLogLevel_INFO
}

func newFunctions(scope constructs.Construct, s Settings, buildDir string, env map[string]*string, table awsdynamodb.Table) map[string]awslambda.Function {
	indexArn := jsii.String(*table.TableArn() + "/index/" + IndexByOwner)
	bareEnv := map[string]*string{"KEYGATE_LOG_LEVEL": env["KEYGATE_LOG_LEVEL"]}
	fns := make(map[string]awslambda.Function, len(LambdaNames))
	for _, name := range LambdaNames {
		spec := lambdaSpecs[name]
		if spec.memoryMB == 0 {
			spec.memoryMB, spec.timeoutSec = routeMemoryMB, routeTimeoutSec
		}
		fnEnv := env
		if spec.bareEnv {
			fnEnv = bareEnv
		}

		// An explicit log group, so retention and removal are ours and the
		// function needs no logs:CreateLogGroup.
		logs := awslogs.NewLogGroup(scope, jsii.String(spec.id+"Logs"), &awslogs.LogGroupProps{
			Retention:     retentionDays[s.LogRetentionDays],
			RemovalPolicy: removalPolicy(s),
		})

		// An explicit role instead of the one Function makes, which would
		// carry the AWSLambdaBasicExecutionRole managed policy (logs on *).
		role := awsiam.NewRole(scope, jsii.String(spec.id+"Role"), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String(spec.description + " (execution role)"),
		})

		var reserved *float64
		if name == "authorizer" {
			reserved = abuseCeiling(s)
		}
		fn := awslambda.NewFunction(scope, jsii.String(spec.id+"Function"), &awslambda.FunctionProps{
			ReservedConcurrentExecutions: reserved,
			Description:                  jsii.String(spec.description),
			Runtime:                      awslambda.Runtime_PROVIDED_AL2023(),
			// Graviton: about 20% cheaper per GB-second than x86, and Go
			// cross-compiles to it for free.
			Architecture: awslambda.Architecture_ARM_64(),
			Handler:      jsii.String("bootstrap"),
			Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(buildDir, name)), nil),
			MemorySize:   jsii.Number(float64(spec.memoryMB)),
			Timeout:      awscdk.Duration_Seconds(jsii.Number(float64(spec.timeoutSec))),
			Environment:  &fnEnv,
			Role:         role,
			LogGroup:     logs,
			// JSON platform logs (START/REPORT), and AWS_LAMBDA_LOG_FORMAT=JSON
			// for lambdacontext's slog handler; the level filters JSON lines.
			LoggingFormat:         awslambda.LoggingFormat_JSON,
			ApplicationLogLevelV2: applicationLogLevel(s.LogLevel),
			SystemLogLevelV2:      awslambda.SystemLogLevel_INFO,
			Tracing:               awslambda.Tracing_ACTIVE,
		})

		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("WriteOwnLogs"),
			Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
			Resources: jsii.Strings(*logs.LogGroupArn()),
		}))
		if len(spec.tableOps) > 0 {
			fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("Table"),
				Actions:   jsii.Strings(spec.tableOps...),
				Resources: &[]*string{table.TableArn()},
			}))
		}
		if len(spec.indexOps) > 0 {
			fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("ByOwnerIndex"),
				Actions:   jsii.Strings(spec.indexOps...),
				Resources: &[]*string{indexArn},
			}))
		}
		suppress(role, "IAM5",
			"Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which do not support resource-level permissions, so their resource must be '*'; every other statement of this role names the table, the byOwner index or the function's own log group.",
			"Resource::*")
		fns[name] = fn
	}
	return fns
}

// abuseCeiling is the authorizer's reserved concurrency, or nil for none.
//
// Why a ceiling: every request with an Authorization header the API Gateway
// cache has not seen invokes the authorizer, and a flood of garbage
// credentials (each one new, so never cached) draws on the same regional
// Lambda concurrency pool as the route functions (and every other function in
// the account). A reservation caps the authorizer at N concurrent executions
// and also guarantees it those N, so route functions cannot starve it either.
//
// Why none by default: Lambda refuses a reservation that would leave fewer
// than 100 of the account's concurrency unreserved, and a new account's quota
// is often 10 or 50, so a default of 100 made `cdk deploy` roll back there.
// Without it, the stage throttle still bounds what reaches the authorizer:
// at most throttleRateLimit invocations a second (100, prod 1000), which at
// its latencies (about 1 ms warm for a garbage or cached credential, 10 ms
// for one GetItem, 50–300 ms cold) is 1–30 concurrent executions at 100
// requests/s. What the default gives up is the isolation: a flood still draws
// on the pool the route functions share. One setting brings it back:
// authorizerReservedConcurrency=N with N ≥ throttleRateLimit × 0.1 s (100
// ms a call, cold starts mixed in; a stalled store holds a call for
// storeTimeoutMs, and then the calls past N are throttled to 503s, which is
// the answer anyway), on an account whose concurrency limit is at least N +
// 100 + what the route functions need (README, "Deploy").
//
// At the ceiling Lambda throttles the invocation; API Gateway answers that
// request with its authorizer-failure response, which this stack renders as
// 503 ServiceUnavailable (retry shortly): garbage floods cost 503s on the
// authorizer's share, never the route functions' capacity. The
// AuthorizerThrottles alarm says when that happens.
func abuseCeiling(s Settings) *float64 {
	if s.AuthorizerReservedConcurrency == 0 {
		return nil // 0 would mean "never run" to Lambda
	}
	return jsii.Number(float64(s.AuthorizerReservedConcurrency))
}
