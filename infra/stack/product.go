package stack

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/route"
)

// The settings a product Lambda reads (guard.Start): the same names as
// shared/config's.
const (
	envTable          = "KEYGATE_TABLE"
	envRoutes         = "KEYGATE_ROUTES"
	envAllowedOrigins = "KEYGATE_ALLOWED_ORIGINS"
	envStoreTimeout   = "KEYGATE_STORE_TIMEOUT_MS"
)

// productFunction is a product's Lambda that AddRoute put behind keygate.
type productFunction struct {
	fn     awslambda.IFunction
	path   string // its construct path, which identifies it
	name   string // route.Function of its routes ("" when they name none)
	routes route.Table
	// metered: it serves a route behind the authorizer, so its role holds
	// the meter's actions.
	metered bool
}

// environmentSetter is what a function must offer for AddRoute to configure
// it: a Function defined in the app (awslambda.Function and the constructs
// built on it), not one imported by ARN.
type environmentSetter interface {
	AddEnvironment(key *string, value *string, options *awslambda.EnvironmentOptions) awslambda.Function
}

// AddRoute puts fn on the API as rt, behind keygate's authorizer (unless rt
// is public), and returns the method. The first time it sees fn it sets the
// function's environment for the guard package (KEYGATE_TABLE,
// KEYGATE_ROUTES with every route fn serves, KEYGATE_ALLOWED_ORIGINS,
// KEYGATE_STORE_TIMEOUT_MS) and grants its role the meter's actions on the
// table (MeterActions), nothing else. keygate's own functions learn the
// route too (KEYGATE_ROUTES: the authorizer's policies, GET /v1/scopes and
// the scopes keys may be limited to). Everything that lists routes is
// rendered at synthesis, so routes may be added in any order after
// NewConstruct. It refuses a route that is invalid, repeats a method and
// path already on the API through keygate, or names a function (rt.Function)
// that another IFunction serves, and a function whose environment or role
// the app cannot change (imported by ARN).
func (k *Keygate) AddRoute(rt route.Route, fn awslambda.IFunction) (awsapigateway.Method, error) {
	if fn == nil {
		return nil, fmt.Errorf("route %s: no function", rt.Name())
	}
	if err := rt.Validate(); err != nil {
		return nil, err
	}
	if err := append(k.routes(), rt).Validate(); err != nil {
		return nil, fmt.Errorf("%w: keygate's own routes and the product's share one API", err)
	}
	if slices.Contains(LambdaNames, rt.Function) || slices.Contains(AuditLambdas, rt.Function) {
		return nil, fmt.Errorf("route %s: function %q is one of keygate's own; name the product's Lambda otherwise", rt.Name(), rt.Function)
	}
	setter, ok := fn.(environmentSetter)
	if !ok || fn.Role() == nil {
		return nil, fmt.Errorf("route %s: %s is not a Lambda function defined in this app with its role (one imported by ARN cannot be given keygate's settings and grants)", rt.Name(), *fn.Node().Path())
	}
	p, err := k.productFunction(rt.Function, fn)
	if err != nil {
		return nil, err
	}

	p.routes = append(p.routes, rt)
	k.Product = append(k.Product, rt)
	if len(p.routes) == 1 {
		env := map[string]*string{
			envTable:          k.Table.TableName(),
			envRoutes:         lazyString(func() string { return route.Encode(p.routes) }),
			envAllowedOrigins: jsii.String(strings.Join(k.origins, ",")),
			envStoreTimeout:   jsii.String(fmt.Sprint(k.Settings.StoreTimeoutMs)),
		}
		for _, name := range slices.Sorted(maps.Keys(env)) {
			setter.AddEnvironment(jsii.String(name), env[name], nil)
		}
	}
	if !rt.Public && !p.metered {
		p.metered = true
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("KeygateMeter"),
			Actions:   jsii.Strings(meterOps...),
			Resources: &[]*string{k.Table.TableArn()},
		}))
	}
	if len(k.Product) == 1 {
		routes := lazyString(func() string { return k.productRoutesEnv() })
		for _, name := range slices.Sorted(maps.Keys(k.Functions)) {
			if !lambdaSpecs[name].bareEnv {
				k.Functions[name].AddEnvironment(jsii.String(envRoutes), routes, nil)
			}
		}
	}

	method := k.addMethod(rt, fn, nil)
	k.addPreflight(rt.Path)
	return method, nil
}

// productFunction finds or records fn, which serves routes naming function
// name.
func (k *Keygate) productFunction(name string, fn awslambda.IFunction) (*productFunction, error) {
	path := *fn.Node().Path()
	for _, p := range k.products {
		switch {
		case p.path == path && name != p.name:
			return nil, fmt.Errorf("%s serves routes of function %q; a route naming %q needs a Lambda of its own", path, p.name, name)
		case p.path == path:
			return p, nil
		case name != "" && p.name == name:
			return nil, fmt.Errorf("function %q is served by %s, not %s: one name, one Lambda", name, p.path, path)
		}
	}
	p := &productFunction{fn: fn, path: path, name: name}
	k.products = append(k.products, p)
	return p, nil
}

// productRoutesEnv is KEYGATE_ROUTES of keygate's functions: the product's
// routes without the function names, which none of them reads, to leave
// room under Lambda's limit.
func (k *Keygate) productRoutesEnv() string {
	t := slices.Clone(k.Product)
	for i := range t {
		t[i].Function = ""
	}
	return route.Encode(t)
}

// Lambda refuses a function whose environment (names and values) takes more
// than 4 KB. The size is counted as the JSON of the variables, a little more
// than Lambda counts; a value known only at deployment counts as the most it
// can be: a table name 255 bytes (DynamoDB's limit), anything else (a
// region, a pool or client id, the console's domain) 64.
const (
	lambdaEnvLimit   = 4096
	tableNameBytes   = 255
	deployTimeBytes  = 64
	eventBusEnvBytes = len(`,"KEYGATE_EVENT_BUS":""`) + deployTimeBytes
)

// tokenPattern is how CDK encodes a deploy-time value inside a string.
var tokenPattern = regexp.MustCompile(`\$\{Token\[[^\]]+\]\}`)

// envBytes is the size of env as envLimit counts it.
func envBytes(env map[string]*string) int {
	n := len("{}")
	for name, v := range env {
		per := deployTimeBytes
		if name == envTable {
			per = tableNameBytes
		}
		tokens := len(tokenPattern.FindAllStringIndex(*v, -1))
		b, _ := json.Marshal(tokenPattern.ReplaceAllString(*v, ""))
		n += len(`"":,`) + len(name) + len(b) + tokens*per
	}
	return n
}

// envLimit fails synthesis when a function's environment, with the product
// routes it carries, would be over Lambda's limit: the deploy would fail,
// later and less clearly.
type envLimit struct{ k *Keygate }

func (v *envLimit) Validate() *[]*string {
	k := v.k
	var errs []*string
	if len(k.Product) == 0 {
		return &errs
	}
	env := maps.Clone(k.env)
	routes := k.productRoutesEnv()
	env[envRoutes] = jsii.String(routes)
	// auditpublish's environment is the largest: it also names the bus.
	if n := envBytes(env) + eventBusEnvBytes; n > lambdaEnvLimit {
		errs = append(errs, jsii.String(fmt.Sprintf(
			"keygate's functions would have an environment of up to %d bytes, over Lambda's limit of %d: the declarations of the %d product routes take %d bytes of it (KEYGATE_ROUTES). Shorten their descriptions, or put fewer routes behind this keygate (docs/protect-your-api.md says how many fit)",
			n, lambdaEnvLimit, len(k.Product), len(routes))))
	}
	for _, p := range k.products {
		routes := route.Encode(p.routes)
		env := map[string]*string{
			envTable: k.Table.TableName(), envRoutes: jsii.String(routes),
			envAllowedOrigins: jsii.String(strings.Join(k.origins, ",")),
			envStoreTimeout:   jsii.String(fmt.Sprint(k.Settings.StoreTimeoutMs)),
		}
		if n := envBytes(env); n > lambdaEnvLimit {
			errs = append(errs, jsii.String(fmt.Sprintf(
				"%s would have an environment of at least %d bytes, over Lambda's limit of %d: the declarations of its %d routes take %d bytes (KEYGATE_ROUTES). Split its routes among more Lambdas, or shorten their descriptions",
				p.path, n, lambdaEnvLimit, len(p.routes), len(routes))))
		}
	}
	return &errs
}

// stringProducer renders a lazy string at synthesis.
type stringProducer struct{ produce func() string }

func (p *stringProducer) Produce() *string { return jsii.String(p.produce()) }

// lazyString is a string whose value produce renders at synthesis, after
// every AddRoute.
func lazyString(produce func() string) *string {
	return awscdk.Lazy_String(&stringProducer{produce: produce}, nil)
}
