// Package stack is keygate on AWS: the CDK construct that adds keygate to a
// REST API (NewConstruct) and keygate's own stack built from it (New). The
// construct defines the DynamoDB table, one arm64 Go Lambda per route plus
// the REQUEST authorizer, the Cognito pre-token-generation trigger and the
// audit jobs, keygate's routes with CORS and envelope-shaped gateway
// responses, the Cognito user pool (or a reference to an existing one),
// optionally the web console on S3 and CloudFront, and the alarms and
// dashboard; AddRoute puts a product's Lambda behind its authorizer and
// meter. Products use it through infra/keygate, its small public surface.
// Settings come from CDK context (see Settings); cdk-nag's AwsSolutions pack
// is applied by the caller, and every finding this stack accepts is
// suppressed next to its resource, with a reason.
package stack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Props configure New: keygate's own stack.
type Props struct {
	awscdk.StackProps
	Settings Settings
	// BuildDir holds <name>/bootstrap for every name in LambdaNames: the
	// linux/arm64 binaries `make build` writes to build/.
	BuildDir string
	// ConsoleDir is the built web console (index.html and its assets), which
	// `make console` writes to console/dist.
	ConsoleDir string
}

// ownConstructID is the id of the construct in keygate's own stack. CDK
// leaves a path component named "Default" out of logical ids, so every
// resource keeps the logical id it had when the stack defined its resources
// directly: a deployed stack updates in place (the table, the user pool and
// the bucket are never replaced).
const ownConstructID = "Default"

// New defines keygate's own stack, Keygate-<stage>: keygate's construct on
// a REST API of its own, with the console, and the stack's outputs. It fails
// before defining anything if a Lambda binary or the built console is
// missing.
func New(scope constructs.Construct, id string, props Props) (*Keygate, error) {
	if err := checkBuildDir(props.BuildDir); err != nil {
		return nil, err
	}
	if err := checkConsoleDir(props.ConsoleDir); err != nil {
		return nil, err
	}
	s := props.Settings
	if err := s.check(); err != nil {
		return nil, err
	}
	sprops := props.StackProps
	if sprops.Description == nil {
		sprops.Description = jsii.String(fmt.Sprintf("keygate (%s): API keys and request authentication for a serverless API", s.Stage))
	}
	st := awscdk.NewStack(scope, jsii.String(id), &sprops)
	awscdk.Tags_Of(st).Add(jsii.String("project"), jsii.String("keygate"), nil)
	awscdk.Tags_Of(st).Add(jsii.String("stage"), jsii.String(s.Stage), nil)

	k, err := NewConstruct(st, ownConstructID, ConstructProps{Settings: s, BuildDir: props.BuildDir, ConsoleDir: props.ConsoleDir})
	if err != nil {
		return nil, err
	}
	pool := k.pool
	outputs := []struct {
		id, desc string
		value    *string
	}{
		{"ApiUrl", "Base URL of the API stage; routes are under v1/ and api/v1/ (e.g. <ApiUrl>v1/api-keys)", k.API.Url()},
		{"ConsoleUrl", "The web console (CloudFront)", jsii.String(*k.Console.Origin + "/")},
		{"UserPoolId", "Cognito user pool whose tokens keygate accepts", pool.userPoolID},
		{"UserPoolClientId", "Cognito app client id(s) whose tokens keygate accepts (comma-separated)", pool.clientIDs},
		{"Issuer", "Expected iss claim of Cognito tokens (KEYGATE_ISSUER)", pool.issuer()},
		{"TableName", "DynamoDB table of keys and usage counters", k.Table.TableName()},
		{"DashboardUrl", "CloudWatch dashboard of the API, keygate's metrics, the Lambdas and DynamoDB",
			jsii.String(fmt.Sprintf("https://console.aws.amazon.com/cloudwatch/home?region=%s#dashboards:name=%s",
				*awscdk.Aws_REGION(), *k.Monitoring.Dashboard.DashboardName()))},
	}
	if s.ExistingUserPool() {
		outputs = append(outputs, struct {
			id, desc string
			value    *string
		}{"PreTokenGenerationFunctionArn", "Attach as the existing pool's pre-token-generation trigger, event version V2_0 (README)",
			k.Functions["pretokengen"].FunctionArn()})
	}
	for _, o := range outputs {
		awscdk.NewCfnOutput(st, jsii.String(o.id), &awscdk.CfnOutputProps{Value: o.value, Description: jsii.String(o.desc)})
	}
	return k, nil
}

// userPoolRef is the Cognito user pool whose tokens keygate accepts, the
// stack's own or an existing one.
type userPoolRef struct {
	// region is the pool's, which may differ from the stack's for an existing
	// pool (its id says which).
	region, userPoolID *string
	// clientIDs are the app clients whose tokens the Lambdas accept,
	// comma-separated; consoleClientID is the one the console signs in with.
	clientIDs, consoleClientID *string
}

// origin is the pool's Cognito endpoint, https://cognito-idp.<region>.<suffix>.
func (p userPoolRef) origin() string {
	return fmt.Sprintf("https://cognito-idp.%s.%s", *p.region, *awscdk.Aws_URL_SUFFIX())
}

// issuer is the iss claim of the pool's tokens: spelled out rather than the
// pool's ProviderURL attribute, so the value is exactly what Cognito writes.
func (p userPoolRef) issuer() *string {
	return jsii.String(p.origin() + "/" + *p.userPoolID)
}

// identity creates the user pool and web client, or refers to the existing
// ones.
func (k *Keygate) identity(scope constructs.Construct, s Settings) userPoolRef {
	if s.ExistingUserPool() {
		return userPoolRef{
			region:     jsii.String(s.UserPoolRegion()),
			userPoolID: jsii.String(s.UserPoolID),
			clientIDs:  jsii.String(strings.Join(s.UserPoolClientIDs, ",")),
			// The first listed client is the console's: a public client (no
			// secret) that allows SRP sign-in.
			consoleClientID: jsii.String(s.UserPoolClientIDs[0]),
		}
	}
	k.UserPool, k.UserPoolClient = newUserPool(scope, s)
	return userPoolRef{
		region:          awscdk.Aws_REGION(),
		userPoolID:      k.UserPool.UserPoolId(),
		clientIDs:       k.UserPoolClient.UserPoolClientId(),
		consoleClientID: k.UserPoolClient.UserPoolClientId(),
	}
}

func checkBuildDir(dir string) error {
	if dir == "" {
		return errors.New("no build directory: set Props.BuildDir to the directory `make build` writes (build/)")
	}
	var missing []string
	for _, name := range LambdaNames {
		p := filepath.Join(dir, name, "bootstrap")
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, p)
		} else if err != nil {
			return fmt.Errorf("check Lambda binary: %w", err)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing Lambda binaries %s: run `make build` first (or set KEYGATE_BUILD_DIR)", strings.Join(missing, ", "))
	}
	return nil
}

// suppress records that the AwsSolutions pack's rule id is accepted on c (and
// its children), for reason. appliesTo narrows a granular rule (IAM4, IAM5) to
// the named findings.
func suppress(c constructs.IConstruct, id, reason string, appliesTo ...string) {
	sup := &cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-" + id), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		a := make([]any, len(appliesTo))
		for i, s := range appliesTo {
			a[i] = s
		}
		sup.AppliesTo = &a
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{sup}, jsii.Bool(true))
}

// globalName names a resource whose name is unique across the whole account
// (CloudFront's policies and origin access controls, CloudWatch dashboards):
// keygate-<stage>-<region>-<what>, so the same stage deploys in a second
// region without an "already exists". The region is the deploy-time one.
func globalName(s Settings, what string) *string {
	name := "keygate-" + s.Stage + "-" + *awscdk.Aws_REGION()
	if what != "" {
		name += "-" + what
	}
	return jsii.String(name)
}

// removalPolicy keeps a production stage's data when the stack goes away.
func removalPolicy(s Settings) awscdk.RemovalPolicy {
	if s.Production() {
		return awscdk.RemovalPolicy_RETAIN
	}
	return awscdk.RemovalPolicy_DESTROY
}
