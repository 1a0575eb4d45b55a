// Command cdk is the example product's CDK app: the product's own REST API,
// keygate added to it with keygate's construct (infra/keygate), and the
// product's one Go Lambda serving both routes that examples/reports declares,
// behind keygate's authorizer and meter. Run it from the repository root,
// where `make build` writes keygate's Lambdas (build/<name>/bootstrap) and the
// example's (build/reports/bootstrap); KEYGATE_BUILD_DIR and REPORTS_CODE_DIR
// point elsewhere. Settings are keygate's CDK context keys (cdk.json at the
// root), e.g. -c stage=reports-dev next to keygate's own dev stack:
//
//	tools/node_modules/.bin/cdk synth -c stage=reports-dev \
//	  --app 'go -C examples/reports/cdk build -o ../../../build/cdk-app/reports . && build/cdk-app/reports'
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/keygate/keygate/examples/reports"
	"github.com/keygate/keygate/infra/keygate"
)

// ReportsStackProps configure NewReportsStack.
type ReportsStackProps struct {
	awscdk.StackProps
	// Settings are keygate's (stage, user pool, limits, origins, ...).
	Settings keygate.Settings
	// KeygateBuildDir holds keygate's Lambdas, <name>/bootstrap.
	KeygateBuildDir string
	// ReportsCodeDir holds the example's Lambda, bootstrap (linux/arm64).
	ReportsCodeDir string
}

// NewReportsStack defines the product's stack: its API, keygate on it, its
// Lambda behind keygate for every route of reports.Routes.
func NewReportsStack(scope constructs.Construct, id string, props *ReportsStackProps) (awscdk.Stack, error) {
	s := props.Settings
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)

	api := newAPI(stack, s)
	kg, err := keygate.New(stack, "Keygate", &keygate.Props{RestApi: api, Settings: s, BuildDir: props.KeygateBuildDir})
	if err != nil {
		return nil, err
	}

	fn := newReportsFunction(stack, s, props.ReportsCodeDir)
	for _, rt := range reports.Routes {
		if _, err := kg.AddRoute(rt, fn); err != nil {
			return nil, err
		}
	}

	// The API's URL is the RestApi's own output (Endpoint); users sign in
	// to keygate's pool to create keys.
	awscdk.NewCfnOutput(stack, jsii.String("UserPoolId"), &awscdk.CfnOutputProps{
		Value: kg.UserPoolID(), Description: jsii.String("Cognito user pool whose users create keys (keygate's)"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("UserPoolClientId"), &awscdk.CfnOutputProps{
		Value: kg.UserPoolClientIDs(), Description: jsii.String("Cognito app client id(s) whose tokens keygate accepts"),
	})
	return stack, nil
}

// newAPI is the product's own REST API: regional, access-logged, traced,
// throttled per stage; its execution log never records a request's headers
// (the Authorization header holds the key).
func newAPI(stack awscdk.Stack, s keygate.Settings) awsapigateway.RestApi {
	logs := awslogs.NewLogGroup(stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_MONTH,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	props := &awsapigateway.RestApiProps{
		RestApiName:   jsii.String("reports-" + s.Stage),
		Description:   jsii.String("The example product's API, behind keygate (" + s.Stage + ")"),
		EndpointTypes: &[]awsapigateway.EndpointType{awsapigateway.EndpointType_REGIONAL},
		// Access logs need the region's API Gateway account role: set it
		// unless the account has one (-c apiGatewayCloudWatchRole=false);
		// kept when the stack goes, since other APIs may rely on it.
		CloudWatchRole: jsii.Bool(s.APIGatewayCloudWatchRole),
		DeployOptions: &awsapigateway.StageOptions{
			StageName:            jsii.String(s.Stage),
			ThrottlingRateLimit:  jsii.Number(s.ThrottleRateLimit),
			ThrottlingBurstLimit: jsii.Number(float64(s.ThrottleBurstLimit)),
			AccessLogDestination: awsapigateway.NewLogGroupLogDestination(logs),
			AccessLogFormat:      awsapigateway.AccessLogFormat_JsonWithStandardFields(nil),
			LoggingLevel:         awsapigateway.MethodLoggingLevel_ERROR,
			DataTraceEnabled:     jsii.Bool(false),
			TracingEnabled:       jsii.Bool(true),
		},
	}
	if s.APIGatewayCloudWatchRole {
		props.CloudWatchRoleRemovalPolicy = awscdk.RemovalPolicy_RETAIN
	}
	api := awsapigateway.NewRestApi(stack, jsii.String("Api"), props)
	if s.APIGatewayCloudWatchRole {
		cdknag.NagSuppressions_AddResourceSuppressions(api.Node().FindChild(jsii.String("CloudWatchRole")), &[]*cdknag.NagPackSuppression{{
			Id:        jsii.String("AwsSolutions-IAM4"),
			Reason:    jsii.String("API Gateway's account-level logging role uses the AWS-managed policy made for it."),
			AppliesTo: &[]any{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"},
		}}, jsii.Bool(true))
	}
	cdknag.NagSuppressions_AddResourceSuppressions(api.DeploymentStage(), &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-APIG3"),
		Reason: jsii.String("The example has no WAF web ACL; every route but keygate's GitHub webhook needs a credential, and keys are limited per day."),
	}}, jsii.Bool(true))
	return api
}

// newReportsFunction is the product's Lambda, built the product's way (a Go
// bootstrap running guard.Start), with a role of its own that can write its
// log group and traces; keygate's AddRoute adds the meter's grants.
func newReportsFunction(stack awscdk.Stack, s keygate.Settings, codeDir string) awslambda.Function {
	logs := awslogs.NewLogGroup(stack, jsii.String("ReportsLogs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_MONTH,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	role := awsiam.NewRole(stack, jsii.String("ReportsRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("The example product's Lambda (execution role)"),
	})
	fn := awslambda.NewFunction(stack, jsii.String("Reports"), &awslambda.FunctionProps{
		Description:  jsii.String("Example product: GET and POST /v1/reports behind keygate"),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(codeDir), nil),
		MemorySize:   jsii.Number(256),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(10)),
		Role:         role,
		LogGroup:     logs,
		Tracing:      awslambda.Tracing_ACTIVE,
		Environment:  &map[string]*string{"KEYGATE_LOG_LEVEL": jsii.String(s.LogLevel)},
	})
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(*logs.LogGroupArn()),
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which take no resource-level permissions."),
		AppliesTo: &[]any{"Resource::*"},
	}}, jsii.Bool(true))
	return fn
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "reports cdk:", err)
		jsii.Close()
		os.Exit(1)
	}
	jsii.Close()
}

func run() error {
	app := awscdk.NewApp(nil)
	settings, err := keygate.SettingsFromContext(app.Node())
	if err != nil {
		return err
	}
	buildDir := envOr("KEYGATE_BUILD_DIR", "build")
	if _, err := NewReportsStack(app, "Reports-"+settings.Stage, &ReportsStackProps{
		Settings:        settings,
		KeygateBuildDir: buildDir,
		ReportsCodeDir:  envOr("REPORTS_CODE_DIR", buildDir+"/reports"),
	}); err != nil {
		return err
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return synth(app)
}

// synth reports a failed synthesis (a cdk-nag error, keygate's environment
// limit) as an error rather than the jsii runtime's panic.
func synth(app awscdk.App) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("synthesis failed: %v", r)
		}
	}()
	app.Synth(nil)
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
