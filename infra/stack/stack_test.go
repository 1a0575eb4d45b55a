package stack

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Stack tests synthesize two configurations, once each, and share them: the
// first synthesis in a process pays for starting node (several seconds).
//   - dev: cdk.json as it is (new user pool, authorizer cache 300 s, no
//     reserved concurrency, no alarm topic, no extra origins).
//   - prod: stage=prod, an existing pool, cache 60 s, no account-level role,
//     two extra origins, an alarm topic, the authorizer's reserved
//     concurrency of 100, leaked keys flagged, a default daily limit of 400
//     and keys for at most 90 days; values given as strings, as `-c` gives
//     them.

var tmpRoot string

func TestMain(m *testing.M) {
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	dir, err := os.MkdirTemp("", "keygate-infra-test-")
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

// consoleFixture is a built console as console/build.mjs lays it out: files
// named by content hash, their licence text, index.html naming them, and
// two unhashed files that must be revalidated like index.html.
var consoleFixture = map[string]string{
	"index.html":                 `<!doctype html><title>keygate</title><link rel="stylesheet" href="/app-J47L3APB.css"><script type="module" src="/app-47B6KP4U.js"></script>`,
	"app-47B6KP4U.js":            `fetch("/config.json")`,
	"app-47B6KP4U.js.LEGAL.txt":  `MIT`,
	"app-J47L3APB.css":           `body{margin:0}`,
	"fonts/inter-2ZQ7FJ4C.woff2": `font`,
	"robots.txt":                 `User-agent: *`,
	"fonts/LICENSE":              `OFL`,
	ConsoleConfigKey:             `{"apiUrl": "http://127.0.0.1:8080/"}`, // a dev config the stack's must replace
}

var prodOverrides = map[string]any{
	CtxStage:                         "prod",
	CtxUserPoolID:                    "eu-west-1_AbCdEf123",
	CtxUserPoolClientIDs:             "1example23456789abcdefghij,2example23456789abcdefghij",
	CtxAuthorizerCacheTTL:            "60",
	CtxAPIGatewayCloudWatchRole:      "false",
	CtxAllowedOrigins:                "https://app.example.com,http://localhost:5173",
	CtxAlarmTopicArn:                 "arn:aws:sns:us-east-1:123456789012:keygate-alarms",
	CtxAuthorizerReservedConcurrency: "100",
	CtxLeakedKeyAction:               "flag",
	CtxDefaultDailyLimit:             "400",
	CtxMaxKeyLifetimeDays:            "90",
}

type synthesized struct {
	outDir string
	k      *Keygate
	tmpl   assertions.Template
	json   map[string]any
	ann    assertions.Annotations
}

var (
	synthOnce = map[string]*sync.Once{"dev": {}, "prod": {}}
	synthOut  = map[string]*synthesized{}
	synthErr  = map[string]error{}
)

// serviceCodeUnreadable skips a check that reads the service code beside
// infra/ (a checkout of infra alone has none), or fails it in CI (CI=true,
// as .ci/run sets), where a skipped check would pass unnoticed.
func serviceCodeUnreadable(t *testing.T, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: service code not readable: %v", err)
	}
	t.Skipf("service code not readable: %v", err)
}

// fixture synthesizes configuration name once per process, with placeholder
// Lambda binaries so no cross-compile is needed.
func fixture(t *testing.T, name string) *synthesized {
	t.Helper()
	synthOnce[name].Do(func() {
		overrides := map[string]any{}
		if name == "prod" {
			overrides = prodOverrides
		}
		synthOut[name], synthErr[name] = synth(t, name, overrides)
	})
	if synthErr[name] != nil {
		t.Fatalf("synth %s: %v", name, synthErr[name])
	}
	return synthOut[name]
}

func synth(t *testing.T, name string, overrides map[string]any) (_ *synthesized, err error) {
	outDir := filepath.Join(tmpRoot, name, "cdk.out")
	defer func() {
		if r := recover(); r != nil {
			// With the cdk.json feature flags an error annotation (a cdk-nag
			// error) fails synthesis; name the findings, not just the report.
			err = fmt.Errorf("panic: %v%s", r, validationViolations(outDir))
		}
	}()
	buildDir := filepath.Join(tmpRoot, name, "build")
	for _, fn := range LambdaNames {
		if err := os.MkdirAll(filepath.Join(buildDir, fn), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(buildDir, fn, "bootstrap"), []byte("placeholder "+fn), 0o755); err != nil {
			return nil, err
		}
	}
	ctx := cdkJSONContext(t)
	maps.Copy(ctx, overrides)
	app := awscdk.NewApp(&awscdk.AppProps{
		Context: &ctx,
		Outdir:  jsii.String(outDir),
	})
	s, err := SettingsFromContext(app.Node())
	if err != nil {
		return nil, err
	}
	consoleDir := filepath.Join(tmpRoot, name, "console")
	if err := os.MkdirAll(filepath.Join(consoleDir, "fonts"), 0o755); err != nil {
		return nil, err
	}
	for file, body := range consoleFixture {
		if err := os.WriteFile(filepath.Join(consoleDir, file), []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	k, err := New(app, "Keygate-"+s.Stage, Props{Settings: s, BuildDir: buildDir, ConsoleDir: consoleDir})
	if err != nil {
		return nil, err
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	tmpl := assertions.Template_FromStack(k.Stack, nil)
	raw, err := json.Marshal(tmpl.ToJSON())
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	return &synthesized{outDir: outDir, k: k, tmpl: tmpl, json: doc, ann: assertions.Annotations_FromStack(k.Stack)}, nil
}

func validationViolations(outDir string) string {
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

// check runs a CDK assertion, which panics on a mismatch, as a test failure.
func check(t *testing.T, what string, assertion func()) {
	t.Helper()
	defer func() {
		t.Helper()
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	assertion()
}

// resources returns the template's resources of type typ by logical id.
func (s *synthesized) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.json["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

// fnProps are the properties of the Lambda called name (LambdaNames).
func (s *synthesized) fnProps(name string) map[string]any {
	id := idOf(s.k.Stack, s.k.Functions[name].Node().DefaultChild())
	return props(s.json["Resources"].(map[string]any)[id].(map[string]any))
}

func props(res map[string]any) map[string]any {
	p, _ := res["Properties"].(map[string]any)
	return p
}

// idOf is the logical id of a construct's CloudFormation resource.
func idOf(st awscdk.Stack, defaultChild any) string {
	return *st.GetLogicalId(defaultChild.(awscdk.CfnElement))
}

// refersTo reports whether v (a property value) references logical id id with
// Ref or Fn::GetAtt anywhere inside it.
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

func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func TestTable(t *testing.T) {
	dev := fixture(t, "dev")
	keySchema := []any{
		map[string]any{"AttributeName": "pk", "KeyType": "HASH"},
		map[string]any{"AttributeName": "sk", "KeyType": "RANGE"},
	}
	check(t, "table keys, index, TTL, PITR, billing", func() {
		dev.tmpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"KeySchema":   keySchema,
			"BillingMode": "PAY_PER_REQUEST",
			"AttributeDefinitions": assertions.Match_ArrayWith(&[]any{
				map[string]any{"AttributeName": "pk", "AttributeType": "S"},
				map[string]any{"AttributeName": "sk", "AttributeType": "S"},
			}),
			"TimeToLiveSpecification":          map[string]any{"AttributeName": "expiresAt", "Enabled": true},
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			// byDue (audit.go) follows; TestAuditTable checks it.
			"GlobalSecondaryIndexes": assertions.Match_ArrayWith(&[]any{map[string]any{
				"IndexName": "byOwner",
				"KeySchema": []any{
					map[string]any{"AttributeName": "gsi1pk", "KeyType": "HASH"},
					map[string]any{"AttributeName": "gsi1sk", "KeyType": "RANGE"},
				},
				"Projection": map[string]any{
					"ProjectionType":   "INCLUDE",
					"NonKeyAttributes": toAny(ListedAttributes),
				},
			}}),
		})
	})
	check(t, "one table", func() { dev.tmpl.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1)) })

	for _, c := range []struct {
		config, policy string
		protected      bool
	}{{"dev", "Delete", false}, {"prod", "Retain", true}} {
		s := fixture(t, c.config)
		check(t, c.config+": deletion protection and removal policy", func() {
			s.tmpl.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{
				"Properties":          assertions.Match_ObjectLike(&map[string]any{"DeletionProtectionEnabled": c.protected}),
				"DeletionPolicy":      c.policy,
				"UpdateReplacePolicy": c.policy,
			})
		})
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// The attribute names and the index projection are the contract with
// shared/dynamo, which declares the same table for local mode and tests; a
// difference would show up only against a real table (a listing missing
// fields). Read from its source with go/parser: infra is its own module.
func TestTableMatchesServiceCode(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, "../../shared/dynamo", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil || pkgs["dynamo"] == nil {
		serviceCodeUnreadable(t, err)
	}
	consts := map[string]string{}
	var listed []string
	for _, f := range pkgs["dynamo"].Files {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gd.Specs {
				vs, ok := spec.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for i, name := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && gd.Tok == token.CONST && lit.Kind == token.STRING {
						consts[name.Name], _ = strconv.Unquote(lit.Value)
					}
					if cl, ok := vs.Values[i].(*ast.CompositeLit); ok && name.Name == "ListedAttributes" {
						for _, e := range cl.Elts {
							if id, ok := e.(*ast.Ident); ok {
								listed = append(listed, id.Name)
							} else {
								t.Errorf("ListedAttributes element %T is not a constant's name", e)
							}
						}
					}
				}
			}
		}
	}
	for i := range listed {
		v, ok := consts[listed[i]]
		if !ok {
			t.Fatalf("shared/dynamo: ListedAttributes names %s, not a string constant", listed[i])
		}
		listed[i] = v
	}
	if !slices.Equal(listed, ListedAttributes) {
		t.Errorf("byOwner projection differs from shared/dynamo's:\n infra %v\n dynamo %v", ListedAttributes, listed)
	}
	for name, want := range map[string]string{"AttrPK": AttrPK, "AttrSK": AttrSK, "AttrGSI1PK": AttrGSI1PK,
		"AttrGSI1SK": AttrGSI1SK, "AttrExpiresAt": AttrExpiresAt, "IndexByOwner": IndexByOwner} {
		if consts[name] != want {
			t.Errorf("shared/dynamo.%s = %q, infra has %q", name, consts[name], want)
		}
	}
}

// TestEnvironmentMatchesServiceCode: every variable the stack sets is one
// shared/config reads.
func TestEnvironmentMatchesServiceCode(t *testing.T) {
	src, err := os.ReadFile("../../shared/config/config.go")
	if err != nil {
		serviceCodeUnreadable(t, err)
	}
	env := fixture(t, "dev").fnProps("createkey")["Environment"].(map[string]any)["Variables"].(map[string]any)
	for name := range env {
		if !strings.Contains(string(src), fmt.Sprintf("%q", name)) {
			t.Errorf("the stack sets %s, which shared/config/config.go does not read", name)
		}
	}
}

func TestLambdas(t *testing.T) {
	for _, config := range []string{"dev", "prod"} {
		s := fixture(t, config)
		// LambdaNames plus CDK's two handlers of the console bucket
		// (console.go): the BucketDeployment's and the auto-delete's.
		check(t, config+": keygate's Lambdas and CDK's two console handlers", func() {
			s.tmpl.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(float64(len(LambdaNames)+2)))
		})
		for _, name := range LambdaNames {
			p := s.fnProps(name)
			if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" ||
				!slices.Equal(strs(p["Architectures"]), []string{"arm64"}) ||
				p["TracingConfig"].(map[string]any)["Mode"] != "Active" {
				t.Errorf("%s: %s is not an arm64 provided.al2023 bootstrap with active tracing: %v %v %v", config, name,
					p["Runtime"], p["Architectures"], p["TracingConfig"])
			}
		}
	}

	dev := fixture(t, "dev")
	logGroups := dev.resources("AWS::Logs::LogGroup")
	wantEnv := []string{"KEYGATE_ALLOWED_ORIGINS", "KEYGATE_CLIENT_IDS", "KEYGATE_DEFAULT_DAILY_LIMIT",
		"KEYGATE_GITHUB_KEYS_URL", "KEYGATE_ISSUER", "KEYGATE_KEY_CACHE_SECONDS", "KEYGATE_LEAKED_KEY_ACTION",
		"KEYGATE_LOG_LEVEL", "KEYGATE_MAX_ACTIVE_KEYS", "KEYGATE_MAX_KEY_LIFETIME_DAYS", "KEYGATE_MAX_WORKSPACE_KEYS",
		"KEYGATE_STORE_TIMEOUT_MS", "KEYGATE_TABLE", "KEYGATE_TIER_CAPS", "KEYGATE_AUDIT_RETENTION_DAYS"}
	slices.Sort(wantEnv)
	tableID := idOf(dev.k.Stack, dev.k.Table.Node().DefaultChild())
	distID := idOf(dev.k.Stack, dev.k.Console.Distribution.Node().DefaultChild())
	for _, name := range LambdaNames {
		t.Run(name, func(t *testing.T) {
			p := dev.fnProps(name)

			wantMem, wantTimeout := 256.0, 10.0
			switch name {
			case "authorizer":
				wantTimeout = 5
			case "pretokengen":
				wantMem, wantTimeout = 128, 5 // Cognito waits 5 s for a trigger
			case "auditpublish", "auditsweep", "keyexpiring": // batch jobs (audit.go)
				wantMem, wantTimeout = float64(auditSpecs[name].memoryMB), float64(auditSpecs[name].timeoutSec)
			}
			if p["MemorySize"] != wantMem || p["Timeout"] != wantTimeout {
				t.Errorf("memory %v MB, timeout %v s; want %v, %v", p["MemorySize"], p["Timeout"], wantMem, wantTimeout)
			}

			env := p["Environment"].(map[string]any)["Variables"].(map[string]any)
			if name == "pretokengen" {
				// The pool names this function as its trigger; the function
				// naming the pool back would be a dependency cycle.
				if got := slices.Sorted(maps.Keys(env)); !slices.Equal(got, []string{"KEYGATE_LOG_LEVEL"}) {
					t.Errorf("environment %v, want only KEYGATE_LOG_LEVEL", got)
				}
			} else {
				wantEnv := wantEnv
				if name == "auditpublish" { // the bus it puts events on
					wantEnv = slices.Sorted(slices.Values(append(slices.Clone(wantEnv), "KEYGATE_EVENT_BUS")))
				}
				if got := slices.Sorted(maps.Keys(env)); !slices.Equal(got, wantEnv) {
					t.Errorf("environment %v, want exactly %v (no local-mode variables)", got, wantEnv)
				}
				if !refersTo(env["KEYGATE_TABLE"], tableID) {
					t.Errorf("KEYGATE_TABLE = %v, want the table's name", env["KEYGATE_TABLE"])
				}
				want := map[string]string{
					"KEYGATE_DEFAULT_DAILY_LIMIT": "250", "KEYGATE_MAX_ACTIVE_KEYS": "50",
					"KEYGATE_TIER_CAPS": "pro=10000,team=50000,enterprise=1000000", "KEYGATE_LOG_LEVEL": "info",
					"KEYGATE_MAX_WORKSPACE_KEYS": "100", "KEYGATE_MAX_KEY_LIFETIME_DAYS": "366",
					"KEYGATE_STORE_TIMEOUT_MS": "2000", "KEYGATE_KEY_CACHE_SECONDS": "60",
					"KEYGATE_GITHUB_KEYS_URL":   "https://api.github.com/meta/public_keys/secret_scanning",
					"KEYGATE_LEAKED_KEY_ACTION": "revoke",
				}
				for k, v := range want {
					if env[k] != v {
						t.Errorf("%s = %v, want %s", k, env[k], v)
					}
				}
				// Only the console's origin by default: https://<distribution domain>.
				origins, _ := json.Marshal(env["KEYGATE_ALLOWED_ORIGINS"])
				if string(origins) != `{"Fn::Join":["",["https://",{"Fn::GetAtt":["`+distID+`","DomainName"]}]]}` {
					t.Errorf("KEYGATE_ALLOWED_ORIGINS = %s, want exactly the console's origin", origins)
				}
			}

			lc, _ := p["LoggingConfig"].(map[string]any)
			var lgID string
			for id := range logGroups {
				if refersTo(lc["LogGroup"], id) {
					lgID = id
				}
			}
			if lgID == "" {
				t.Fatalf("LoggingConfig %v names none of the stack's log groups", lc)
			}
			if got := props(logGroups[lgID])["RetentionInDays"]; got != 30.0 {
				t.Errorf("log retention %v days, want 30", got)
			}
		})
	}

	prod := fixture(t, "prod")
	env := prod.fnProps("secretscan")["Environment"].(map[string]any)["Variables"].(map[string]any)
	if env["KEYGATE_LEAKED_KEY_ACTION"] != "flag" {
		t.Errorf("prod: KEYGATE_LEAKED_KEY_ACTION = %v, want flag", env["KEYGATE_LEAKED_KEY_ACTION"])
	}
	origins, _ := json.Marshal(env["KEYGATE_ALLOWED_ORIGINS"])
	if !strings.HasSuffix(string(origins), `",https://app.example.com,http://localhost:5173"]]}`) {
		t.Errorf("prod: KEYGATE_ALLOWED_ORIGINS = %s, want the console's origin then the two extra ones", origins)
	}
}

// TestAbuseCeiling: by default nothing is reserved, so the stack deploys on
// an account whose concurrency quota is 10 or 50 (Lambda keeps 100
// unreserved); with authorizerReservedConcurrency set, the authorizer alone
// has it (0 means none: Lambda would read a reservation of 0 as "never run").
func TestAbuseCeiling(t *testing.T) {
	for _, c := range []struct {
		config string
		want   any
	}{{"dev", nil}, {"prod", 100.0}} {
		s := fixture(t, c.config)
		for _, name := range LambdaNames {
			got := s.fnProps(name)["ReservedConcurrentExecutions"]
			want := any(nil)
			if name == "authorizer" {
				want = c.want
			}
			if got != want {
				t.Errorf("%s: %s reserved concurrency %v, want %v", c.config, name, got, want)
			}
		}
	}
}

func TestIssuerAndClients(t *testing.T) {
	dev := fixture(t, "dev")
	poolID := idOf(dev.k.Stack, dev.k.UserPool.Node().DefaultChild())
	clientID := idOf(dev.k.Stack, dev.k.UserPoolClient.Node().DefaultChild())
	env := props(dev.json["Resources"].(map[string]any)[idOf(dev.k.Stack, dev.k.Functions["createkey"].Node().DefaultChild())].(map[string]any))["Environment"].(map[string]any)["Variables"].(map[string]any)
	if !refersTo(env["KEYGATE_CLIENT_IDS"], clientID) {
		t.Errorf("KEYGATE_CLIENT_IDS = %v, want the web client's id", env["KEYGATE_CLIENT_IDS"])
	}
	issuer, _ := json.Marshal(env["KEYGATE_ISSUER"])
	if !refersTo(env["KEYGATE_ISSUER"], poolID) || !strings.Contains(string(issuer), `"https://cognito-idp."`) ||
		!strings.Contains(string(issuer), `{"Ref":"AWS::Region"}`) {
		t.Errorf("KEYGATE_ISSUER = %s, want https://cognito-idp.<region>.<suffix>/<pool id>", issuer)
	}

	prod := fixture(t, "prod")
	env = props(prod.json["Resources"].(map[string]any)[idOf(prod.k.Stack, prod.k.Functions["usage"].Node().DefaultChild())].(map[string]any))["Environment"].(map[string]any)["Variables"].(map[string]any)
	if env["KEYGATE_CLIENT_IDS"] != prodOverrides[CtxUserPoolClientIDs] {
		t.Errorf("existing pool: KEYGATE_CLIENT_IDS = %v", env["KEYGATE_CLIENT_IDS"])
	}
	issuer, _ = json.Marshal(env["KEYGATE_ISSUER"])
	if !strings.Contains(string(issuer), "https://cognito-idp.eu-west-1.") || !strings.Contains(string(issuer), "/eu-west-1_AbCdEf123") {
		t.Errorf("existing pool: KEYGATE_ISSUER = %s", issuer)
	}
}

func TestAuthorizer(t *testing.T) {
	for _, c := range []struct {
		config string
		ttl    float64
	}{{"dev", 300}, {"prod", 60}} {
		s := fixture(t, c.config)
		fnID := idOf(s.k.Stack, s.k.Functions["authorizer"].Node().DefaultChild())
		check(t, c.config+": REQUEST authorizer on the Authorization header", func() {
			s.tmpl.ResourceCountIs(jsii.String("AWS::ApiGateway::Authorizer"), jsii.Number(1))
			s.tmpl.HasResourceProperties(jsii.String("AWS::ApiGateway::Authorizer"), map[string]any{
				"Type":                         "REQUEST",
				"IdentitySource":               "method.request.header.Authorization",
				"AuthorizerResultTtlInSeconds": c.ttl,
			})
		})
		for id, r := range s.resources("AWS::ApiGateway::Authorizer") {
			if !refersTo(props(r)["AuthorizerUri"], fnID) {
				t.Errorf("%s: authorizer %s does not invoke the authorizer Lambda", c.config, id)
			}
		}
	}
}

// routePaths rebuilds each API Gateway resource's full path from its parents.
func routePaths(s *synthesized) map[string]string {
	res := s.resources("AWS::ApiGateway::Resource")
	paths := map[string]string{}
	var path func(id string) string
	path = func(id string) string {
		if p, ok := paths[id]; ok {
			return p
		}
		r, ok := res[id]
		if !ok {
			return "" // the API's root resource
		}
		p := props(r)
		parent := p["ParentId"].(map[string]any)
		prefix := ""
		if ref, ok := parent["Ref"].(string); ok {
			prefix = path(ref)
		}
		paths[id] = prefix + "/" + p["PathPart"].(string)
		return paths[id]
	}
	for id := range res {
		path(id)
	}
	return paths
}

func TestRoutes(t *testing.T) {
	s := fixture(t, "dev")
	want := []struct {
		method, path, fn string
		public           bool
	}{
		{"POST", "/v1/api-keys", "createkey", false},
		{"GET", "/v1/api-keys", "listkeys", false},
		{"PATCH", "/v1/api-keys/{prefix}", "updatekey", false},
		{"DELETE", "/v1/api-keys/{prefix}", "revokekey", false},
		{"POST", "/v1/api-keys/{prefix}/rotate", "rotatekey", false},
		{"GET", "/v1/usage", "usage", false},
		{"GET", "/v1/scopes", "scopes", false},
		{"GET", "/v1/audit-log", "auditlog", false},
		{"GET", "/api/v1/workspaces/{id}/api-keys", "wslistkeys", false},
		{"POST", "/api/v1/workspaces/{id}/api-keys", "wscreatekey", false},
		{"DELETE", "/api/v1/workspaces/{id}/api-keys/{keyId}", "wsrevokekey", false},
		{"POST", "/api/v1/workspaces/{id}/api-keys/{keyId}/rotate", "wsrotatekey", false},
		{"GET", "/api/v1/workspaces/{id}/audit-log", "wsauditlog", false},
		{"POST", "/v1/secret-scanning/github", "secretscan", true},
	}
	paths := routePaths(s)
	routed := 0
	for _, m := range s.resources("AWS::ApiGateway::Method") {
		if props(m)["HttpMethod"] != "OPTIONS" {
			routed++
		}
	}
	if routed != len(want) {
		t.Errorf("%d methods besides OPTIONS, want exactly %d", routed, len(want))
	}
	authID := idOf(s.k.Stack, s.k.Authorizer.Node().DefaultChild())
	for _, w := range want {
		t.Run(w.method+" "+w.path, func(t *testing.T) {
			found := s.method(paths, w.method, w.path)
			if found == nil {
				t.Fatalf("no method %s %s", w.method, w.path)
			}
			if w.public {
				if found["AuthorizationType"] != "NONE" || found["AuthorizerId"] != nil {
					t.Errorf("authorization %v %v, want NONE: GitHub signs its reports, it holds no bearer credential", found["AuthorizationType"], found["AuthorizerId"])
				}
			} else if found["AuthorizationType"] != "CUSTOM" || !refersTo(found["AuthorizerId"], authID) {
				t.Errorf("authorization %v %v, want CUSTOM with the REQUEST authorizer", found["AuthorizationType"], found["AuthorizerId"])
			}
			integ := found["Integration"].(map[string]any)
			fnID := idOf(s.k.Stack, s.k.Functions[w.fn].Node().DefaultChild())
			if integ["Type"] != "AWS_PROXY" || integ["IntegrationHttpMethod"] != "POST" || !refersTo(integ["Uri"], fnID) {
				t.Errorf("integration %v, want AWS_PROXY to %s", integ, w.fn)
			}
			params, _ := found["RequestParameters"].(map[string]any)
			for _, name := range pathParams(w.path) {
				if params["method.request.path."+name] != true {
					t.Errorf("path parameter %s not required: %v", name, params)
				}
			}
		})
	}
}

// method finds the properties of the method httpMethod on the resource path.
func (s *synthesized) method(paths map[string]string, httpMethod, path string) map[string]any {
	for _, m := range s.resources("AWS::ApiGateway::Method") {
		p := props(m)
		rid, _ := p["ResourceId"].(map[string]any)["Ref"].(string)
		if p["HttpMethod"] == httpMethod && paths[rid] == path {
			return p
		}
	}
	return nil
}

func TestStage(t *testing.T) {
	s := fixture(t, "dev")
	check(t, "stage throttling, logging, tracing", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::ApiGateway::Stage"), map[string]any{
			"StageName":      "dev",
			"TracingEnabled": true,
			"AccessLogSetting": assertions.Match_ObjectLike(&map[string]any{
				"Format": assertions.Match_StringLikeRegexp(jsii.String(`\$context\.requestId`)),
			}),
			"MethodSettings": []any{map[string]any{
				"HttpMethod": "*", "ResourcePath": "/*",
				"LoggingLevel": "ERROR", "DataTraceEnabled": false,
				"ThrottlingRateLimit": 100, "ThrottlingBurstLimit": 200,
			}},
		})
	})
	check(t, "prod's stage throttle defaults ten times higher", func() {
		fixture(t, "prod").tmpl.HasResourceProperties(jsii.String("AWS::ApiGateway::Stage"), map[string]any{
			"StageName": "prod",
			"MethodSettings": []any{assertions.Match_ObjectLike(&map[string]any{
				"ThrottlingRateLimit": 1000, "ThrottlingBurstLimit": 2000,
			})},
		})
	})
	for _, st := range s.resources("AWS::ApiGateway::Stage") {
		format := props(st)["AccessLogSetting"].(map[string]any)["Format"].(string)
		var line map[string]any
		if err := json.Unmarshal([]byte(format), &line); err != nil {
			t.Errorf("access log format is not one JSON object: %v", err)
		}
		if strings.Contains(strings.ToLower(format), "authorization") {
			t.Errorf("access log format mentions the Authorization header: %s", format)
		}
	}
	check(t, "dev sets the account's API Gateway CloudWatch role", func() {
		s.tmpl.ResourceCountIs(jsii.String("AWS::ApiGateway::Account"), jsii.Number(1))
	})
	check(t, "prod (apiGatewayCloudWatchRole=false) leaves it alone", func() {
		fixture(t, "prod").tmpl.ResourceCountIs(jsii.String("AWS::ApiGateway::Account"), jsii.Number(0))
	})
}

func TestGatewayResponses(t *testing.T) {
	s := fixture(t, "dev")
	// Every response type API Gateway documents (supported-gateway-
	// response-types), with the status a client gets: its own, except the
	// two keygate changes on purpose (no such route is 404, an authorizer
	// failure 503), and none on DEFAULT_4XX so a 4xx API Gateway adds later
	// keeps its own. "" status: none set.
	want := []struct {
		typ    string
		status string
		code   string
	}{
		{"ACCESS_DENIED", "403", "Forbidden"},
		{"API_CONFIGURATION_ERROR", "500", "InternalError"},
		{"AUTHORIZER_CONFIGURATION_ERROR", "503", "ServiceUnavailable"},
		{"AUTHORIZER_FAILURE", "503", "ServiceUnavailable"},
		{"BAD_REQUEST_PARAMETERS", "400", "BadRequest"},
		{"BAD_REQUEST_BODY", "400", "BadRequest"},
		{"DEFAULT_4XX", "", "BadRequest"},
		{"DEFAULT_5XX", "500", "InternalError"},
		{"EXPIRED_TOKEN", "403", "Forbidden"},
		{"INTEGRATION_FAILURE", "504", "GatewayTimeout"},
		{"INTEGRATION_TIMEOUT", "504", "GatewayTimeout"},
		{"INVALID_API_KEY", "403", "Forbidden"},
		{"INVALID_SIGNATURE", "403", "Forbidden"},
		{"MISSING_AUTHENTICATION_TOKEN", "404", "NotFound"},
		{"QUOTA_EXCEEDED", "429", "RateLimitExceeded"},
		{"REQUEST_TOO_LARGE", "413", "PayloadTooLarge"},
		{"RESOURCE_NOT_FOUND", "404", "NotFound"},
		{"THROTTLED", "429", "RateLimitExceeded"},
		{"UNAUTHORIZED", "401", "Unauthorized"},
		{"UNSUPPORTED_MEDIA_TYPE", "415", "UnsupportedMediaType"},
		{"WAF_FILTERED", "403", "Forbidden"},
	}
	// The contract's one code per status.
	codeOf := map[string]string{"400": "BadRequest", "401": "Unauthorized", "403": "Forbidden", "404": "NotFound",
		"413": "PayloadTooLarge", "415": "UnsupportedMediaType", "429": "RateLimitExceeded",
		"500": "InternalError", "503": "ServiceUnavailable", "504": "GatewayTimeout"}
	if got := len(s.resources("AWS::ApiGateway::GatewayResponse")); got != len(want) {
		t.Errorf("%d gateway responses, want %d", got, len(want))
	}
	byType := map[string]map[string]any{}
	for _, r := range s.resources("AWS::ApiGateway::GatewayResponse") {
		byType[props(r)["ResponseType"].(string)] = props(r)
	}
	// What API Gateway substitutes: messageString arrives already quoted.
	render := strings.NewReplacer(
		"$context.error.messageString", `"Invalid request body"`,
		"$context.requestId", "c0ffee00-0000-4000-8000-000000000000",
		"$context.authorizer.scopes", "reports:read",
		"$context.httpMethod", "POST",
		"$context.resourcePath", "/v1/reports",
	)
	for _, w := range want {
		t.Run(w.typ, func(t *testing.T) {
			p, ok := byType[w.typ]
			if !ok {
				t.Fatalf("no gateway response %s", w.typ)
			}
			if status, _ := p["StatusCode"].(string); status != w.status {
				t.Errorf("status %v, want %q", p["StatusCode"], w.status)
			}
			if w.status != "" && codeOf[w.status] != w.code {
				t.Errorf("code %s with status %s; the contract's code for %s is %s", w.code, w.status, w.status, codeOf[w.status])
			}
			hdr, _ := p["ResponseParameters"].(map[string]any)
			if hdr["gatewayresponse.header.Content-Type"] != "'application/json'" {
				t.Errorf("headers %v, want Content-Type application/json", hdr)
			}
			tmpl, _ := p["ResponseTemplates"].(map[string]any)["application/json"].(string)
			var env struct {
				Success *bool `json:"success"`
				Error   struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			dec := json.NewDecoder(strings.NewReader(render.Replace(tmpl)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&env); err != nil {
				t.Fatalf("template %q is not the envelope: %v", tmpl, err)
			}
			if env.Success == nil || *env.Success || env.Error.Code != w.code || env.Error.Message == "" {
				t.Errorf("envelope %+v, want success false, code %s and a message", env, w.code)
			}
			allowed := strings.NewReplacer("$context.error.messageString", "", "$context.requestId", "",
				"$context.authorizer.scopes", "", "$context.httpMethod", "", "$context.resourcePath", "")
			if strings.Contains(allowed.Replace(tmpl), "$") {
				t.Errorf("template templates something other than API Gateway's message or the request id: %s", tmpl)
			}
		})
	}
	if !strings.Contains(byType["UNAUTHORIZED"]["ResponseTemplates"].(map[string]any)["application/json"].(string), "Authorization: Bearer") {
		t.Error("the 401 body should say how to authenticate")
	}
}

// TestLocalGatewayRendersTheSameMessages: local mode's gateway
// (local/gateway) answers its errors with the deployed gateway responses'
// messages, read from its source (infra is its own module).
func TestLocalGatewayRendersTheSameMessages(t *testing.T) {
	src, err := os.ReadFile("../../local/gateway/gateway.go")
	if err != nil {
		t.Skipf("local gateway not readable: %v", err)
	}
	message := map[string]string{}
	for _, g := range GatewayResponses {
		var m string
		if json.Unmarshal([]byte(g.Message), &m) == nil {
			message[g.Type] = m
		}
	}
	for constant, typ := range map[string]string{
		"msgUnauthorized": "UNAUTHORIZED", "msgDenied": "ACCESS_DENIED",
		"msgAuthFailure": "AUTHORIZER_FAILURE", "msgTooLarge": "REQUEST_TOO_LARGE",
	} {
		m := regexp.MustCompile(`\b` + constant + `\s*=\s*("(?:[^"\\]|\\.)*")`).FindSubmatch(src)
		if m == nil {
			t.Errorf("local/gateway/gateway.go has no constant %s", constant)
			continue
		}
		local, err := strconv.Unquote(string(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		if local != message[typ] {
			t.Errorf("%s: local gateway says %q, the deployed %s says %q", constant, local, typ, message[typ])
		}
	}
}

// iamStatements yields every statement of every policy in the template, with
// the logical id of the resource holding it.
func iamStatements(s *synthesized) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	add := func(id string, doc any) {
		d, _ := doc.(map[string]any)
		switch st := d["Statement"].(type) {
		case []any:
			for _, x := range st {
				out[id] = append(out[id], x.(map[string]any))
			}
		case map[string]any:
			out[id] = append(out[id], st)
		}
	}
	for id, r := range s.json["Resources"].(map[string]any) {
		res := r.(map[string]any)
		p := props(res)
		switch res["Type"] {
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
			add(id, p["PolicyDocument"])
		case "AWS::IAM::Role":
			add(id, p["AssumeRolePolicyDocument"])
			for _, pol := range asSlice(p["Policies"]) {
				add(id, pol.(map[string]any)["PolicyDocument"])
			}
		}
	}
	return out
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// bucketDeploymentHandler is the logical id prefix of CDK's BucketDeployment
// Lambda and its role: CDK's construct, whose wildcards are suppressed with
// reasons in console.go and pinned in TestConsoleDeploymentHandler.
const bucketDeploymentHandler = "CustomCDKBucketDeployment"

// autoDeleteHandler is the logical id prefix of CDK's bucket auto-delete
// provider (the console bucket's AutoDeleteObjects): a Lambda and its role
// with AWSLambdaBasicExecutionRole, which empties the bucket when the stack
// is deleted; pinned in TestConsoleBucketIsPrivate.
const autoDeleteHandler = "CustomS3AutoDeleteObjectsCustomResourceProvider"

func TestNoWildcardActions(t *testing.T) {
	for _, config := range []string{"dev", "prod"} {
		s := fixture(t, config)
		n := 0
		for id, stmts := range iamStatements(s) {
			if strings.HasPrefix(id, bucketDeploymentHandler) {
				continue
			}
			for _, st := range stmts {
				for _, key := range []string{"Action", "NotAction"} {
					for _, a := range strs(st[key]) {
						n++
						if strings.Contains(a, "*") {
							t.Errorf("%s: %s has %s %q", config, id, key, a)
						}
					}
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: found no IAM actions at all; the walk is broken", config)
		}
		for id, r := range s.resources("AWS::IAM::Role") {
			for _, arn := range asSlice(props(r)["ManagedPolicyArns"]) {
				b, _ := json.Marshal(arn)
				switch {
				case strings.Contains(string(b), "AmazonAPIGatewayPushToCloudWatchLogs"):
				case (strings.HasPrefix(id, bucketDeploymentHandler) || strings.HasPrefix(id, autoDeleteHandler)) &&
					strings.Contains(string(b), "service-role/AWSLambdaBasicExecutionRole"):
				default:
					t.Errorf("%s: role %s has managed policy %s", config, id, b)
				}
			}
		}
	}
}

// TestLeastPrivilege: each Lambda's role has no managed policy, writes only
// its own log group, and holds DynamoDB actions only on the table or its
// byOwner index. Which DynamoDB actions each role holds is proved against
// what the code does in TestGrantsMatchBehaviour.
func TestLeastPrivilege(t *testing.T) {
	s := fixture(t, "dev")
	busID := idOf(s.k.Stack, s.k.Audit.Bus.Node().DefaultChild())
	tableID := idOf(s.k.Stack, s.k.Table.Node().DefaultChild())
	policies := s.resources("AWS::IAM::Policy")
	all := s.json["Resources"].(map[string]any)
	for _, name := range LambdaNames {
		t.Run(name, func(t *testing.T) {
			fnID := idOf(s.k.Stack, s.k.Functions[name].Node().DefaultChild())
			roleRef := props(all[fnID].(map[string]any))["Role"]
			roleID := roleRef.(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
			if mp := props(all[roleID].(map[string]any))["ManagedPolicyArns"]; mp != nil {
				t.Errorf("role has managed policies %v", mp)
			}
			logGroupID := ""
			if lc, ok := props(all[fnID].(map[string]any))["LoggingConfig"].(map[string]any); ok {
				if ref, ok := lc["LogGroup"].(map[string]any)["Ref"].(string); ok {
					logGroupID = ref
				}
			}
			for _, pol := range policies {
				if !refersTo(props(pol)["Roles"], roleID) {
					continue
				}
				for _, st := range asSlice(props(pol)["PolicyDocument"].(map[string]any)["Statement"]) {
					st := st.(map[string]any)
					res, _ := json.Marshal(st["Resource"])
					for _, a := range strs(st["Action"]) {
						switch {
						// The audit log (audit.go): the byDue index, the stream
						// (ListStreams has no resource-level permissions), the bus.
						case strings.HasPrefix(a, "dynamodb:") && strings.Contains(string(res), "/index/"+IndexByDue):
						case a == "dynamodb:ListStreams" && string(res) == `"*"` && name == "auditpublish":
						case strings.HasPrefix(a, "dynamodb:") && strings.Contains(string(res), "StreamArn") && name == "auditpublish":
						case a == "events:PutEvents" && name == "auditpublish":
							if !refersTo(st["Resource"], busID) {
								t.Errorf("%s on %s, want the audit bus", a, res)
							}
						case strings.HasPrefix(a, "dynamodb:") && strings.Contains(string(res), "/index/byOwner"):
						case strings.HasPrefix(a, "dynamodb:") && refersTo(st["Resource"], tableID):
						case strings.HasPrefix(a, "dynamodb:"):
							t.Errorf("%s on %s: neither the table nor its index", a, res)
						case a == "logs:CreateLogStream" || a == "logs:PutLogEvents":
							if logGroupID == "" || !refersTo(st["Resource"], logGroupID) {
								t.Errorf("%s on %s, want the function's own log group %s", a, res, logGroupID)
							}
						case a == "xray:PutTraceSegments" || a == "xray:PutTelemetryRecords":
						default:
							t.Errorf("unexpected action %s", a)
						}
					}
				}
			}
		})
	}
}

func TestCognito(t *testing.T) {
	dev := fixture(t, "dev")
	check(t, "custom attributes tier and teamId, mutable", func() {
		dev.tmpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), map[string]any{
			// Match_ArrayWith is order-sensitive; CDK sorts the schema by name.
			"Schema": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"Name": "teamId", "Mutable": true, "AttributeDataType": "String"}),
				assertions.Match_ObjectLike(&map[string]any{"Name": "tier", "Mutable": true, "AttributeDataType": "String"}),
			}),
			"Policies": map[string]any{"PasswordPolicy": assertions.Match_ObjectLike(&map[string]any{
				"MinimumLength": 12, "RequireLowercase": true, "RequireUppercase": true,
				"RequireNumbers": true, "RequireSymbols": true,
			})},
		})
	})
	clients := dev.resources("AWS::Cognito::UserPoolClient")
	if len(clients) != 1 {
		t.Fatalf("%d app clients, want 1", len(clients))
	}
	for id, c := range clients {
		p := props(c)
		write, ok := p["WriteAttributes"]
		if !ok {
			t.Fatalf("client %s has no WriteAttributes: Cognito then lets it write every attribute, custom:tier included", id)
		}
		for _, a := range strs(write) {
			if strings.HasPrefix(a, "custom:") {
				t.Errorf("client %s may write %s", id, a)
			}
		}
		read := strs(p["ReadAttributes"])
		for _, a := range []string{"custom:tier", "custom:teamId"} {
			if !slices.Contains(read, a) {
				t.Errorf("client %s cannot read %s (read: %v)", id, a, read)
			}
		}
		if p["GenerateSecret"] != false {
			t.Errorf("web client must not have a secret: GenerateSecret %v", p["GenerateSecret"])
		}
		// SRP sign-in from the console, no managed login: nothing redirects
		// back, so no callback or logout URLs and no OAuth flows.
		for _, k := range []string{"CallbackURLs", "LogoutURLs", "AllowedOAuthFlows"} {
			if p[k] != nil {
				t.Errorf("client %s has %s %v", id, k, p[k])
			}
		}
		if p["AllowedOAuthFlowsUserPoolClient"] != false {
			t.Errorf("client %s allows OAuth flows: %v", id, p["AllowedOAuthFlowsUserPoolClient"])
		}
		if flows := strs(p["ExplicitAuthFlows"]); !slices.Contains(flows, "ALLOW_USER_SRP_AUTH") || slices.Contains(flows, "ALLOW_USER_PASSWORD_AUTH") {
			t.Errorf("client %s auth flows %v: want SRP, never plain password from a browser", id, flows)
		}
	}

	prod := fixture(t, "prod")
	check(t, "an existing pool creates no Cognito resources", func() {
		prod.tmpl.ResourceCountIs(jsii.String("AWS::Cognito::UserPool"), jsii.Number(0))
		prod.tmpl.ResourceCountIs(jsii.String("AWS::Cognito::UserPoolClient"), jsii.Number(0))
	})
}

func TestOutputs(t *testing.T) {
	for _, config := range []string{"dev", "prod"} {
		s := fixture(t, config)
		outs, _ := s.json["Outputs"].(map[string]any)
		got := slices.Sorted(maps.Keys(outs))
		want := []string{"ApiUrl", "AuditEventBusName", "ConsoleUrl", "DashboardUrl", "Issuer", "TableName", "UserPoolClientId", "UserPoolId"}
		if config == "prod" {
			// An existing pool's owner attaches the trigger by its ARN.
			want = slices.Insert(want, 5, "PreTokenGenerationFunctionArn")
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: outputs %v, want %v", config, got, want)
		}
	}
	prod := fixture(t, "prod")
	check(t, "existing pool id is an output", func() {
		prod.tmpl.HasOutput(jsii.String("UserPoolId"), map[string]any{"Value": "eu-west-1_AbCdEf123"})
	})
}

// TestNag: the AwsSolutions pack finds nothing that is not suppressed with a
// reason, errors or warnings.
func TestNag(t *testing.T) {
	for _, config := range []string{"dev", "prod"} {
		s := fixture(t, config)
		nagRule := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
		for level, found := range map[string]func() int{
			"error":   func() int { return report(t, config, s.ann.FindError(jsii.String("*"), nagRule)) },
			"warning": func() int { return report(t, config, s.ann.FindWarning(jsii.String("*"), nagRule)) },
		} {
			if n := found(); n > 0 {
				t.Errorf("%s: %d unsuppressed cdk-nag %ss", config, n, level)
			}
		}
	}
}

func report(t *testing.T, config string, msgs any) int {
	b, _ := json.Marshal(msgs)
	var list []struct {
		ID    string `json:"id"`
		Entry struct {
			Data any `json:"data"`
		} `json:"entry"`
	}
	json.Unmarshal(b, &list)
	for _, m := range list {
		t.Logf("%s: %s: %v", config, m.ID, m.Entry.Data)
	}
	return len(list)
}

// TestNagSuppressions: the findings this stack accepts are exactly these
// rules, each with a reason a reviewer can check (next to its resource in the
// code). A new suppression is a decision: add it here too.
func TestNagSuppressions(t *testing.T) {
	want := []string{"APIG3", "APIG4", "CFR1", "CFR2", "CFR3", "CFR4", "COG2", "COG4", "COG8", "IAM4", "IAM5", "L1", "S1"}
	for _, config := range []string{"dev", "prod"} {
		s := fixture(t, config)
		seen := map[string]bool{}
		for id, r := range s.json["Resources"].(map[string]any) {
			md, _ := r.(map[string]any)["Metadata"].(map[string]any)
			nag, _ := md["cdk_nag"].(map[string]any)
			for _, rule := range asSlice(nag["rules_to_suppress"]) {
				rule := rule.(map[string]any)
				ruleID := strings.TrimPrefix(rule["id"].(string), "AwsSolutions-")
				seen[ruleID] = true
				if reason, _ := rule["reason"].(string); len(reason) < 80 {
					t.Errorf("%s: %s suppresses %s with too short a reason: %q", config, id, ruleID, reason)
				}
			}
		}
		want := want
		if config == "prod" {
			// An existing pool: its MFA and feature plan are its owner's.
			want = slices.DeleteFunc(slices.Clone(want), func(r string) bool { return r == "COG2" || r == "COG8" })
		}
		if got := slices.Sorted(maps.Keys(seen)); !slices.Equal(got, want) {
			t.Errorf("%s: suppressed rules %v, want %v", config, got, want)
		}
	}
}
