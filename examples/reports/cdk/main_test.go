package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/keygate/keygate/examples/reports"
	"github.com/keygate/keygate/infra/keygate"
	"github.com/keygate/keygate/route"
)

// The example's stack is synthesized once, offline, as `cdk synth` would with
// keygate's cdk.json (its context: feature flags and keygate's settings),
// from placeholder Lambda binaries, with cdk-nag's AwsSolutions pack applied
// as keygate's own app applies it.

var tmpRoot string

func TestMain(m *testing.M) {
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	dir, err := os.MkdirTemp("", "keygate-reports-cdk-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tmpRoot = dir
	code := m.Run()
	jsii.Close() // else every run leaves a /tmp/jsii-runtime.* directory
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

type synthesized struct {
	stack awscdk.Stack
	json  map[string]any
	ann   assertions.Annotations
}

var (
	synthOnce sync.Once
	synthOut  *synthesized
	synthErr  error
)

func fixture(t *testing.T) *synthesized {
	t.Helper()
	synthOnce.Do(func() { synthOut, synthErr = synthFixture() })
	if synthErr != nil {
		t.Fatalf("synth: %v", synthErr)
	}
	return synthOut
}

// placeholders writes <dir>/<name>/bootstrap for each name.
func placeholders(dir string, names ...string) error {
	for _, name := range names {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name, "bootstrap"), []byte("placeholder "+name), 0o755); err != nil {
			return err
		}
	}
	return nil
}

func synthFixture() (_ *synthesized, err error) {
	outDir := filepath.Join(tmpRoot, "cdk.out")
	defer func() {
		if r := recover(); r != nil {
			// A cdk-nag error fails synthesis; name the findings.
			err = fmt.Errorf("panic: %v%s", r, violations(outDir))
		}
	}()
	build := filepath.Join(tmpRoot, "build")
	if err := placeholders(build, append(keygate.LambdaNames(), "reports")...); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile("../../../cdk.json")
	if err != nil {
		return nil, err
	}
	var cdkJSON struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &cdkJSON); err != nil {
		return nil, err
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &cdkJSON.Context, Outdir: jsii.String(outDir)})
	settings, err := keygate.SettingsFromContext(app.Node())
	if err != nil {
		return nil, err
	}
	st, err := NewReportsStack(app, "Reports-"+settings.Stage, &ReportsStackProps{
		Settings: settings, KeygateBuildDir: build, ReportsCodeDir: filepath.Join(build, "reports"),
	})
	if err != nil {
		return nil, err
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	tmpl := assertions.Template_FromStack(st, nil)
	b, err := json.Marshal(tmpl.ToJSON())
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	return &synthesized{stack: st, json: doc, ann: assertions.Annotations_FromStack(st)}, nil
}

// violations lists the findings of the validation report in outDir.
func violations(outDir string) string {
	raw, err := os.ReadFile(filepath.Join(outDir, "validation-report.json"))
	if err != nil {
		return ""
	}
	var report struct {
		PluginReports []struct {
			Violations []struct {
				Description         string `json:"description"`
				ViolatingConstructs []struct {
					ConstructPath string `json:"constructPath"`
				} `json:"violatingConstructs"`
			} `json:"violations"`
		} `json:"pluginReports"`
	}
	if json.Unmarshal(raw, &report) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range report.PluginReports {
		for _, v := range p.Violations {
			for _, c := range v.ViolatingConstructs {
				fmt.Fprintf(&b, "\n  %s: %s", c.ConstructPath, strings.TrimSpace(v.Description))
			}
		}
	}
	return b.String()
}

// resources are the template's resources of type typ by logical id.
func (s *synthesized) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.json["Resources"].(map[string]any) {
		if res := r.(map[string]any); res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

func (s *synthesized) one(t *testing.T, typ string) (string, map[string]any) {
	t.Helper()
	all := s.resources(typ)
	if len(all) != 1 {
		t.Fatalf("%d %s, want 1", len(all), typ)
	}
	for id, r := range all {
		return id, props(r)
	}
	return "", nil
}

func props(res map[string]any) map[string]any {
	p, _ := res["Properties"].(map[string]any)
	return p
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func strs(v any) []string {
	if s, ok := v.(string); ok {
		return []string{s}
	}
	var out []string
	for _, x := range asSlice(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// refersTo reports whether v references logical id id (Ref or Fn::GetAtt).
func refersTo(v any, id string) bool {
	switch v := v.(type) {
	case map[string]any:
		if v["Ref"] == id {
			return true
		}
		if ga, ok := v["Fn::GetAtt"].([]any); ok && len(ga) > 0 && ga[0] == id {
			return true
		}
		for _, x := range v {
			if refersTo(x, id) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if refersTo(x, id) {
				return true
			}
		}
	}
	return false
}

// reportsFunction is the logical id and properties of the product's Lambda.
func (s *synthesized) reportsFunction(t *testing.T) (string, map[string]any) {
	t.Helper()
	for id, r := range s.resources("AWS::Lambda::Function") {
		if strings.HasPrefix(id, "Reports") {
			return id, props(r)
		}
	}
	t.Fatal("no Reports function")
	return "", nil
}

// methods are the API's methods by "METHOD /path".
func (s *synthesized) methods() map[string]map[string]any {
	res := s.resources("AWS::ApiGateway::Resource")
	var path func(id string) string
	path = func(id string) string {
		r, ok := res[id]
		if !ok {
			return ""
		}
		p := props(r)
		parent, _ := p["ParentId"].(map[string]any)["Ref"].(string)
		return path(parent) + "/" + p["PathPart"].(string)
	}
	out := map[string]map[string]any{}
	for _, m := range s.resources("AWS::ApiGateway::Method") {
		p := props(m)
		rid, _ := p["ResourceId"].(map[string]any)["Ref"].(string)
		out[p["HttpMethod"].(string)+" "+path(rid)] = p
	}
	return out
}

func env(p map[string]any) map[string]any {
	e, _ := p["Environment"].(map[string]any)["Variables"].(map[string]any)
	return e
}

// TestSynthesizesNagClean: the stack synthesizes offline and cdk-nag's
// AwsSolutions pack finds nothing unsuppressed.
func TestSynthesizesNagClean(t *testing.T) {
	s := fixture(t)
	rule := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
	for level, found := range map[string]any{
		"error": s.ann.FindError(jsii.String("*"), rule), "warning": s.ann.FindWarning(jsii.String("*"), rule),
	} {
		b, _ := json.Marshal(found)
		var msgs []struct {
			ID    string `json:"id"`
			Entry struct {
				Data any `json:"data"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(b, &msgs); err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			t.Errorf("cdk-nag %s at %s: %v", level, m.ID, m.Entry.Data)
		}
	}
	if n := len(s.resources("AWS::ApiGateway::RestApi")); n != 1 {
		t.Errorf("%d REST APIs, want the product's one", n)
	}
}

// TestMethodsUseKeygatesAuthorizer: both routes are methods of the
// product's API behind keygate's REQUEST authorizer, invoking the product's
// Lambda.
func TestMethodsUseKeygatesAuthorizer(t *testing.T) {
	s := fixture(t)
	authID, auth := s.one(t, "AWS::ApiGateway::Authorizer")
	if auth["Type"] != "REQUEST" || auth["IdentitySource"] != "method.request.header.Authorization" {
		t.Errorf("authorizer %v", auth)
	}
	fnID, _ := s.reportsFunction(t)
	methods := s.methods()
	for _, rt := range reports.Routes {
		m := methods[rt.Name()]
		if m == nil {
			t.Errorf("no method %s", rt.Name())
			continue
		}
		if m["AuthorizationType"] != "CUSTOM" || !refersTo(m["AuthorizerId"], authID) {
			t.Errorf("%s: authorization %v %v, want keygate's authorizer", rt.Name(), m["AuthorizationType"], m["AuthorizerId"])
		}
		if integ := m["Integration"].(map[string]any); integ["Type"] != "AWS_PROXY" || !refersTo(integ["Uri"], fnID) {
			t.Errorf("%s: integration %v, want the product's Lambda", rt.Name(), integ)
		}
	}
	if methods["OPTIONS /v1/reports"] != nil {
		t.Error("a CORS preflight without any allowed origin (no console, no allowedOrigins)")
	}
	if methods["GET /v1/scopes"] == nil || methods["POST /v1/api-keys"] == nil {
		t.Error("keygate's own routes are not on the product's API")
	}
}

// TestReportsLambdaLeastPrivilege: the product's role can do the meter's
// actions on keygate's table and nothing else but write its logs and traces.
func TestReportsLambdaLeastPrivilege(t *testing.T) {
	s := fixture(t)
	fnID, fn := s.reportsFunction(t)
	roleID := fn["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
	tableID, _ := s.one(t, "AWS::DynamoDB::Table")
	logs := fn["LoggingConfig"].(map[string]any)["LogGroup"].(map[string]any)["Ref"].(string)
	role := props(s.json["Resources"].(map[string]any)[roleID].(map[string]any))
	if role["ManagedPolicyArns"] != nil || role["Policies"] != nil {
		t.Errorf("role %s has managed or inline policies: %v %v", roleID, role["ManagedPolicyArns"], role["Policies"])
	}
	var table []string
	for id, pol := range s.resources("AWS::IAM::Policy") {
		if !refersTo(props(pol)["Roles"], roleID) {
			continue
		}
		for _, st := range asSlice(props(pol)["PolicyDocument"].(map[string]any)["Statement"]) {
			st := st.(map[string]any)
			res, _ := json.Marshal(st["Resource"])
			if st["Effect"] != "Allow" {
				t.Errorf("%s: %v", id, st)
			}
			for _, a := range strs(st["Action"]) {
				switch {
				case strings.HasPrefix(a, "dynamodb:"):
					// The table itself: no index, no other table.
					if ga, ok := st["Resource"].(map[string]any)["Fn::GetAtt"].([]any); !ok || ga[0] != tableID || ga[1] != "Arn" {
						t.Errorf("%s on %s, want keygate's table alone", a, res)
					}
					table = append(table, a)
				case a == "logs:CreateLogStream" || a == "logs:PutLogEvents":
					if !refersTo(st["Resource"], logs) {
						t.Errorf("%s on %s, want its own log group", a, res)
					}
				case a == "xray:PutTraceSegments" || a == "xray:PutTelemetryRecords":
				default:
					t.Errorf("the product's role may %s on %s", a, res)
				}
			}
		}
	}
	slices.Sort(table)
	if want := keygate.MeterActions(); !slices.Equal(table, want) {
		t.Errorf("the product's role has %v on the table, want the meter's %v", table, want)
	}
	t.Logf("%s (role %s): %v on the table", fnID, roleID, table)
}

// TestEnvironments: the product's Lambda carries its routes and keygate's
// settings for guard; keygate's authorizer and scopes Lambdas carry the
// product's routes, so a scoped key's policy and GET /v1/scopes include them.
func TestEnvironments(t *testing.T) {
	s := fixture(t)
	tableID, _ := s.one(t, "AWS::DynamoDB::Table")
	_, fn := s.reportsFunction(t)
	e := env(fn)
	if got, want := e["KEYGATE_ROUTES"], route.Encode(reports.Routes); got != want {
		t.Errorf("product KEYGATE_ROUTES = %v, want %s", got, want)
	}
	if !refersTo(e["KEYGATE_TABLE"], tableID) || e["KEYGATE_STORE_TIMEOUT_MS"] != "2000" || e["KEYGATE_ALLOWED_ORIGINS"] != "" {
		t.Errorf("product environment %v", e)
	}

	_, auth := s.one(t, "AWS::ApiGateway::Authorizer")
	scopes := s.methods()["GET /v1/scopes"]["Integration"].(map[string]any)["Uri"]
	functions := s.resources("AWS::Lambda::Function")
	for name, uri := range map[string]any{"authorizer": auth["AuthorizerUri"], "scopes": scopes} {
		var found bool
		for id, f := range functions {
			if !refersTo(uri, id) {
				continue
			}
			found = true
			raw, _ := env(props(f))["KEYGATE_ROUTES"].(string)
			got, err := route.Decode(raw)
			if err != nil {
				t.Fatalf("%s: KEYGATE_ROUTES %q: %v", name, raw, err)
			}
			var names []string
			for _, sc := range got.Scopes() {
				names = append(names, sc.Name)
			}
			if len(got) != len(reports.Routes) || !slices.Equal(names, []string{reports.ScopeRead, reports.ScopeWrite}) {
				t.Errorf("%s: KEYGATE_ROUTES %s, want the example's routes", name, raw)
			}
		}
		if !found {
			t.Errorf("no Lambda behind %s", name)
		}
	}
}
