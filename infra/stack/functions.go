package stack

import (
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// LambdaNames are the Lambdas of the stack, each built by `make build` into
// build/<name>/bootstrap.
var LambdaNames = []string{"authorizer", "createkey", "listkeys", "updatekey", "revokekey", "usage"}

// lambdaSpec is one Lambda: its sizing and exactly the DynamoDB calls its code
// makes. Every function also meters requests made with an API key (one
// conditional UpdateItem on the key's day counter, one on lastUsedAt), hence
// UpdateItem everywhere but in the authorizer, which only reads the key.
type lambdaSpec struct {
	id          string // construct id
	description string
	memoryMB    int
	timeoutSec  int
	tableOps    []string // dynamodb actions on the table
	indexOps    []string // dynamodb actions on the byOwner index
}

var lambdaSpecs = map[string]lambdaSpec{
	// The authorizer is on every request's path. RS256 verification and the
	// cold-start TLS handshake to fetch the JWKS are CPU-bound, and Lambda
	// hands out CPU in proportion to memory, so it gets more than the 128 MB
	// minimum. 5 s: a GetItem takes milliseconds; anything slower is a stuck
	// dependency, and failing fast turns into a 503 envelope instead of a
	// client waiting for API Gateway's own limit.
	"authorizer": {id: "Authorizer", description: "keygate REQUEST authorizer: API key or Cognito JWT to principal",
		memoryMB: 256, timeoutSec: 5, tableOps: []string{"dynamodb:GetItem"}},
	// The route functions make a few DynamoDB calls each. 256 MB keeps JSON
	// and TLS work off the critical path at a cost close to 128 MB's; 10 s
	// covers the SDK's retries with backoff on a throttled table and stays well
	// under the REST API's 29 s integration timeout, so the client gets the
	// function's own 503 envelope rather than a gateway timeout.
	"createkey": {id: "CreateKey", description: "keygate POST /v1/api-keys",
		memoryMB: 256, timeoutSec: 10,
		tableOps: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, indexOps: []string{"dynamodb:Query"}},
	"listkeys": {id: "ListKeys", description: "keygate GET /v1/api-keys",
		memoryMB: 256, timeoutSec: 10,
		tableOps: []string{"dynamodb:UpdateItem"}, indexOps: []string{"dynamodb:Query"}},
	"updatekey": {id: "UpdateKey", description: "keygate PATCH /v1/api-keys/{prefix}",
		memoryMB: 256, timeoutSec: 10, tableOps: []string{"dynamodb:UpdateItem"}},
	"revokekey": {id: "RevokeKey", description: "keygate DELETE /v1/api-keys/{prefix}",
		memoryMB: 256, timeoutSec: 10, tableOps: []string{"dynamodb:UpdateItem"}},
	"usage": {id: "Usage", description: "keygate GET /v1/usage",
		memoryMB: 256, timeoutSec: 10,
		tableOps: []string{"dynamodb:Query", "dynamodb:UpdateItem"}, indexOps: []string{"dynamodb:Query"}},
}

var applicationLogLevels = map[string]awslambda.ApplicationLogLevel{
	"debug": awslambda.ApplicationLogLevel_DEBUG,
	"info":  awslambda.ApplicationLogLevel_INFO,
	"warn":  awslambda.ApplicationLogLevel_WARN,
	"error": awslambda.ApplicationLogLevel_ERROR,
}

func newFunctions(st awscdk.Stack, s Settings, buildDir string, env map[string]*string, table awsdynamodb.Table) map[string]awslambda.Function {
	indexArn := jsii.String(*table.TableArn() + "/index/" + IndexByOwner)
	fns := make(map[string]awslambda.Function, len(LambdaNames))
	for _, name := range LambdaNames {
		spec := lambdaSpecs[name]

		// An explicit log group, so retention and removal are ours and the
		// function needs no logs:CreateLogGroup.
		logs := awslogs.NewLogGroup(st, jsii.String(spec.id+"Logs"), &awslogs.LogGroupProps{
			Retention:     retentionDays[s.LogRetentionDays],
			RemovalPolicy: removalPolicy(s),
		})

		// An explicit role instead of the one Function makes, which would
		// carry the AWSLambdaBasicExecutionRole managed policy (logs on *).
		role := awsiam.NewRole(st, jsii.String(spec.id+"Role"), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String(spec.description + " (execution role)"),
		})

		fn := awslambda.NewFunction(st, jsii.String(spec.id+"Function"), &awslambda.FunctionProps{
			Description: jsii.String(spec.description),
			Runtime:     awslambda.Runtime_PROVIDED_AL2023(),
			// Graviton: about 20% cheaper per GB-second than x86, and Go
			// cross-compiles to it for free.
			Architecture: awslambda.Architecture_ARM_64(),
			Handler:      jsii.String("bootstrap"),
			Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(buildDir, name)), nil),
			MemorySize:   jsii.Number(float64(spec.memoryMB)),
			Timeout:      awscdk.Duration_Seconds(jsii.Number(float64(spec.timeoutSec))),
			Environment:  &env,
			Role:         role,
			LogGroup:     logs,
			// JSON platform logs (START/REPORT), and AWS_LAMBDA_LOG_FORMAT=JSON
			// for lambdacontext's slog handler; the level filters JSON lines.
			LoggingFormat:         awslambda.LoggingFormat_JSON,
			ApplicationLogLevelV2: applicationLogLevels[s.LogLevel],
			SystemLogLevelV2:      awslambda.SystemLogLevel_INFO,
			Tracing:               awslambda.Tracing_ACTIVE,
		})

		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("WriteOwnLogs"),
			Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
			Resources: jsii.Strings(*logs.LogGroupArn()),
		}))
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("Table"),
			Actions:   jsii.Strings(spec.tableOps...),
			Resources: &[]*string{table.TableArn()},
		}))
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
