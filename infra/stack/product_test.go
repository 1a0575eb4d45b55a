package stack

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/keygate/keygate/examples/reports"
	"github.com/keygate/keygate/route"
)

// The product configuration: a product's own stack with its own REST API,
// keygate added to it by NewConstruct (no console, one web origin), then the
// example product's two routes (examples/reports) served by one Lambda, added
// after the construct as a product's app does. Synthesized once, like dev
// and prod; the example's own CDK app (examples/reports/cdk) has its tests
// too.

const productOrigin = "https://app.example.com"

var (
	productOnce sync.Once
	productOut  *synthesized
	productErr  error
)

func productFixture(t *testing.T) *synthesized {
	t.Helper()
	productOnce.Do(func() { productOut, productErr = synthProduct(t) })
	if productErr != nil {
		t.Fatalf("synth product: %v", productErr)
	}
	return productOut
}

// placeholderBuild writes a placeholder bootstrap for each name under dir.
func placeholderBuild(dir string, names ...string) error {
	for _, fn := range names {
		if err := os.MkdirAll(filepath.Join(dir, fn), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, fn, "bootstrap"), []byte("placeholder "+fn), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// productStack is a product's stack with its API and keygate on it, no
// route added yet: what a product's app has after NewConstruct.
func productStack(t *testing.T, dir string, overrides map[string]any) (awscdk.App, awscdk.Stack, *Keygate, error) {
	buildDir := filepath.Join(dir, "build")
	if err := placeholderBuild(buildDir, LambdaNames...); err != nil {
		return nil, nil, nil, err
	}
	ctx := cdkJSONContext(t)
	ctx[CtxAllowedOrigins] = productOrigin
	maps.Copy(ctx, overrides)
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(filepath.Join(dir, "cdk.out"))})
	s, err := SettingsFromContext(app.Node())
	if err != nil {
		return nil, nil, nil, err
	}
	st := awscdk.NewStack(app, jsii.String("Reports-dev"), nil)
	k, err := NewConstruct(st, "Keygate", ConstructProps{Settings: s, BuildDir: buildDir, RestApi: productAPI(st)})
	return app, st, k, err
}

// productAPI is a product's REST API as cdk-nag wants one: access logs,
// error logging, tracing.
func productAPI(scope constructs.Construct) awsapigateway.RestApi {
	logs := awslogs.NewLogGroup(scope, jsii.String("ApiLogs"), &awslogs.LogGroupProps{Retention: awslogs.RetentionDays_ONE_MONTH})
	api := awsapigateway.NewRestApi(scope, jsii.String("ProductApi"), &awsapigateway.RestApiProps{
		RestApiName:    jsii.String("reports-dev"),
		CloudWatchRole: jsii.Bool(false),
		DeployOptions: &awsapigateway.StageOptions{
			StageName:            jsii.String("dev"),
			AccessLogDestination: awsapigateway.NewLogGroupLogDestination(logs),
			AccessLogFormat:      awsapigateway.AccessLogFormat_JsonWithStandardFields(nil),
			LoggingLevel:         awsapigateway.MethodLoggingLevel_ERROR,
			TracingEnabled:       jsii.Bool(true),
		},
	})
	suppress(api.DeploymentStage(), "APIG3", "Test fixture: no WAF web ACL.")
	return api
}

// productLambda is a product's Lambda as keygate's own are defined: its
// role, its log group, tracing.
func productLambda(scope constructs.Construct, id, codeDir string) awslambda.Function {
	logs := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{Retention: awslogs.RetentionDays_ONE_MONTH})
	role := awsiam.NewRole(scope, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
	})
	fn := awslambda.NewFunction(scope, jsii.String(id), &awslambda.FunctionProps{
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(codeDir), nil),
		Role:         role,
		LogGroup:     logs,
		Tracing:      awslambda.Tracing_ACTIVE,
	})
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(*logs.LogGroupArn()),
	}))
	suppress(role, "IAM5", "Test fixture: X-Ray's two actions take no resource.", "Resource::*")
	return fn
}

func synthProduct(t *testing.T) (_ *synthesized, err error) {
	dir := filepath.Join(tmpRoot, "product")
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v%s", r, validationViolations(filepath.Join(dir, "cdk.out")))
		}
	}()
	app, st, k, err := productStack(t, dir, nil)
	if err != nil {
		return nil, err
	}
	if err := placeholderBuild(filepath.Join(dir, "product"), "reports"); err != nil {
		return nil, err
	}
	fn := productLambda(st, "Reports", filepath.Join(dir, "product", "reports"))
	for _, rt := range reports.Routes {
		if _, err := k.AddRoute(rt, fn); err != nil {
			return nil, err
		}
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	tmpl := assertions.Template_FromStack(st, nil)
	raw, err := json.Marshal(tmpl.ToJSON())
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	return &synthesized{k: k, tmpl: tmpl, json: doc, ann: assertions.Annotations_FromStack(st)}, nil
}

// productFn is the product fixture's Lambda that serves function name.
func (s *synthesized) productFn(t *testing.T, name string) awslambda.IFunction {
	t.Helper()
	for _, p := range s.k.products {
		if p.name == name {
			return p.fn
		}
	}
	t.Fatalf("no product function %q", name)
	return nil
}

func (s *synthesized) envOf(fn awslambda.IFunction) map[string]any {
	p := props(s.json["Resources"].(map[string]any)[idOf(s.k.Stack, fn.Node().DefaultChild())].(map[string]any))
	env, _ := p["Environment"].(map[string]any)["Variables"].(map[string]any)
	return env
}

// TestProductRoutes: each product route is a method of the product's API
// behind keygate's authorizer, invoking the product's Lambda, with a CORS
// preflight listing the path's methods.
func TestProductRoutes(t *testing.T) {
	s := productFixture(t)
	paths := routePaths(s)
	authID := idOf(s.k.Stack, s.k.Authorizer.Node().DefaultChild())
	fnID := idOf(s.k.Stack, s.productFn(t, "reports").Node().DefaultChild())
	for _, rt := range reports.Routes {
		t.Run(rt.Name(), func(t *testing.T) {
			m := s.method(paths, rt.Method, rt.Path)
			if m == nil {
				t.Fatal("no method")
			}
			if m["AuthorizationType"] != "CUSTOM" || !refersTo(m["AuthorizerId"], authID) {
				t.Errorf("authorization %v %v, want CUSTOM with keygate's authorizer", m["AuthorizationType"], m["AuthorizerId"])
			}
			integ := m["Integration"].(map[string]any)
			if integ["Type"] != "AWS_PROXY" || !refersTo(integ["Uri"], fnID) {
				t.Errorf("integration %v, want AWS_PROXY to the product's Lambda", integ)
			}
		})
	}
	// keygate's routes are on the product's API too.
	for _, rt := range route.Keygate {
		if s.method(paths, rt.Method, rt.Path) == nil {
			t.Errorf("no method %s on the product's API", rt.Name())
		}
	}
	opts := s.method(paths, "OPTIONS", "/v1/reports")
	if opts == nil {
		t.Fatal("no CORS preflight on /v1/reports")
	}
	hdr := asSlice(opts["Integration"].(map[string]any)["IntegrationResponses"])[0].(map[string]any)["ResponseParameters"].(map[string]any)
	const h = "method.response.header."
	for k, want := range map[string]string{
		h + "Access-Control-Allow-Methods": "'GET,POST,OPTIONS'",
		h + "Access-Control-Allow-Origin":  "'" + productOrigin + "'",
		h + "Access-Control-Allow-Headers": "'Authorization,Content-Type,X-Workspace-ID'",
	} {
		if hdr[k] != want {
			t.Errorf("preflight %s = %v, want %s", k, hdr[k], want)
		}
	}
	check(t, "one authorizer on the product's API", func() {
		s.tmpl.ResourceCountIs(jsii.String("AWS::ApiGateway::Authorizer"), jsii.Number(1))
		s.tmpl.ResourceCountIs(jsii.String("AWS::ApiGateway::RestApi"), jsii.Number(1))
	})
	check(t, "no console", func() {
		s.tmpl.ResourceCountIs(jsii.String("AWS::CloudFront::Distribution"), jsii.Number(0))
		s.tmpl.ResourceCountIs(jsii.String("AWS::S3::Bucket"), jsii.Number(0))
	})
}

// TestProductEnvironment: the product's Lambda is configured for guard, and
// every keygate function that reads settings learns the product's routes,
// though they were added after the construct.
func TestProductEnvironment(t *testing.T) {
	s := productFixture(t)
	tableID := idOf(s.k.Stack, s.k.Table.Node().DefaultChild())
	env := s.envOf(s.productFn(t, "reports"))
	if got, want := env["KEYGATE_ROUTES"], route.Encode(reports.Routes); got != want {
		t.Errorf("product KEYGATE_ROUTES = %v, want %s", got, want)
	}
	if !refersTo(env["KEYGATE_TABLE"], tableID) {
		t.Errorf("product KEYGATE_TABLE = %v, want keygate's table", env["KEYGATE_TABLE"])
	}
	if env["KEYGATE_ALLOWED_ORIGINS"] != productOrigin || env["KEYGATE_STORE_TIMEOUT_MS"] != "2000" {
		t.Errorf("product origins %v, store timeout %v", env["KEYGATE_ALLOWED_ORIGINS"], env["KEYGATE_STORE_TIMEOUT_MS"])
	}
	if len(env) != 4 {
		t.Errorf("product environment %v: want exactly keygate's four settings", slices.Sorted(maps.Keys(env)))
	}

	want := slices.Clone(reports.Routes)
	for i := range want {
		want[i].Function = ""
	}
	for _, name := range LambdaNames {
		got := s.envOf(s.k.Functions[name])["KEYGATE_ROUTES"]
		switch {
		case name == "pretokengen" && got != nil:
			t.Errorf("pretokengen has KEYGATE_ROUTES")
		case name != "pretokengen" && got != route.Encode(want):
			t.Errorf("%s: KEYGATE_ROUTES = %v, want %s", name, got, route.Encode(want))
		}
	}
	t.Logf("KEYGATE_ROUTES of keygate's functions: %d bytes for %d routes", len(route.Encode(want)), len(want))

	// Without product routes, keygate's own stack sets none.
	if got := fixture(t, "dev").fnProps("authorizer")["Environment"].(map[string]any)["Variables"].(map[string]any)["KEYGATE_ROUTES"]; got != nil {
		t.Errorf("keygate's own stack sets KEYGATE_ROUTES %v", got)
	}
}

// TestProductNotFoundListsProductRoutes: API Gateway's 404 names the
// product's routes too.
func TestProductNotFoundListsProductRoutes(t *testing.T) {
	s := productFixture(t)
	for _, r := range s.resources("AWS::ApiGateway::GatewayResponse") {
		p := props(r)
		if p["ResponseType"] != notFoundType {
			continue
		}
		body := p["ResponseTemplates"].(map[string]any)["application/json"].(string)
		if !strings.Contains(body, "GET|POST /v1/reports.") || !strings.Contains(body, "GET /v1/usage,") {
			t.Errorf("404 body %s does not list keygate's and the product's routes", body)
		}
		hdr := p["ResponseParameters"].(map[string]any)
		if hdr["gatewayresponse.header.Access-Control-Allow-Origin"] != "'"+productOrigin+"'" {
			t.Errorf("404 Access-Control-Allow-Origin = %v", hdr["gatewayresponse.header.Access-Control-Allow-Origin"])
		}
		return
	}
	t.Fatal("no 404 gateway response on the product's API")
}

// TestProductNag: keygate on a product's API adds no cdk-nag finding.
func TestProductNag(t *testing.T) {
	s := productFixture(t)
	nagRule := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
	if n := report(t, "product", s.ann.FindError(jsii.String("*"), nagRule)) + report(t, "product", s.ann.FindWarning(jsii.String("*"), nagRule)); n > 0 {
		t.Errorf("%d unsuppressed cdk-nag findings", n)
	}
}

// TestAddRouteRefuses: what AddRoute will not do, before any synthesis.
func TestAddRouteRefuses(t *testing.T) {
	_, st, k, err := productStack(t, filepath.Join(tmpRoot, "refuses"), nil)
	if err != nil {
		t.Fatal(err)
	}
	code := filepath.Join(tmpRoot, "refuses", "code")
	if err := placeholderBuild(code, "a", "b"); err != nil {
		t.Fatal(err)
	}
	a := productLambda(st, "A", filepath.Join(code, "a"))
	b := productLambda(st, "B", filepath.Join(code, "b"))
	if _, err := k.AddRoute(route.Route{Method: "GET", Path: "/v1/things", Function: "things", Scope: "things:read"}, a); err != nil {
		t.Fatal(err)
	}
	imported := awslambda.Function_FromFunctionArn(st, jsii.String("Imported"), jsii.String("arn:aws:lambda:eu-west-1:123456789012:function:x"))
	for _, c := range []struct {
		name string
		rt   route.Route
		fn   awslambda.IFunction
		want string
	}{
		{"one of keygate's routes", route.Route{Method: "GET", Path: "/v1/usage", Function: "things", Scope: "usage:read"}, a, "declared twice"},
		{"a product route twice", route.Route{Method: "GET", Path: "/v1/things", Function: "things", Scope: "things:read"}, a, "declared twice"},
		{"an invalid route", route.Route{Method: "GET", Path: "/v1/things/", Function: "things"}, a, "path"},
		{"keygate's function name", route.Route{Method: "PUT", Path: "/v1/things", Function: "authorizer"}, a, "keygate's own"},
		{"one name on two Lambdas", route.Route{Method: "PUT", Path: "/v1/things", Function: "things"}, b, "one name, one Lambda"},
		{"two names on one Lambda", route.Route{Method: "PUT", Path: "/v1/things", Function: "other"}, a, "needs a Lambda of its own"},
		{"an imported function", route.Route{Method: "PUT", Path: "/v1/things", Function: "imported"}, imported, "imported by ARN"},
		{"no function", route.Route{Method: "PUT", Path: "/v1/things"}, nil, "no function"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := k.AddRoute(c.rt, c.fn)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("AddRoute: %v, want an error saying %q", err, c.want)
			}
		})
	}
	if len(k.Product) != 1 {
		t.Errorf("refused routes were recorded: %v", k.Product)
	}
}

// documentedRouteCapacity is how many routes docs/protect-your-api.md says
// fit behind one keygate (routes like the example's, with descriptions of 30
// characters).
const documentedRouteCapacity = 20

// TestEnvironmentLimit: routes whose declarations would take keygate's
// functions over Lambda's 4 KB of environment fail synthesis with a message
// saying so; the documented number of routes fits.
func TestEnvironmentLimit(t *testing.T) {
	// A route like the example's, with a description of 30 characters.
	like := func(i int) route.Route {
		return route.Route{Method: "POST", Path: fmt.Sprintf("/v1/reports%02d", i), Function: "reports", Scope: fmt.Sprintf("reports%02d:write", i),
			Cost: 5, Description: fmt.Sprintf("Create a report, the %02dth kind", i)}
	}
	app, st, k, err := productStack(t, filepath.Join(tmpRoot, "limit"), nil)
	if err != nil {
		t.Fatal(err)
	}
	fits := 0
	for {
		k.Product = append(k.Product, like(fits))
		if len(*(&envLimit{k}).Validate()) > 0 {
			break
		}
		fits++
	}
	if fits < documentedRouteCapacity {
		t.Errorf("%d routes like the example's fit, docs/protect-your-api.md says %d", fits, documentedRouteCapacity)
	}
	t.Logf("%d routes like the example's fit in keygate's functions' environment", fits)
	k.Product = nil

	code := filepath.Join(tmpRoot, "limit", "code")
	if err := placeholderBuild(code, "reports"); err != nil {
		t.Fatal(err)
	}
	fn := productLambda(st, "Reports", filepath.Join(code, "reports"))
	for i := range fits + 1 {
		if _, err := k.AddRoute(like(i), fn); err != nil {
			t.Fatal(err)
		}
	}
	var msg string
	func() {
		defer func() { msg = fmt.Sprint(recover()) }()
		app.Synth(nil)
	}()
	if !strings.Contains(msg, "over Lambda's limit of 4096") || !strings.Contains(msg, fmt.Sprintf("the declarations of the %d product routes", fits+1)) {
		t.Errorf("synthesis with %d routes: %s", fits+1, msg)
	}
}
