package stack

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/route"
)

// Route is one method of the REST API and the Lambda that answers it.
type Route struct {
	Method, Path, Lambda string
	// Public routes have no authorizer: their function checks its own
	// credential (secretscan: GitHub's ECDSA signature over the body).
	Public bool
}

// Routes are keygate's routes as the route package declares them (the one
// declaration local mode, the authorizer and this stack read), in the order
// the 404 message lists them. Every one but the public ones is behind the
// authorizer.
var Routes = routesOf(route.Keygate)

func routesOf(t route.Table) []Route {
	out := make([]Route, len(t))
	for i, r := range t {
		out[i] = Route{Method: r.Method, Path: r.Path, Lambda: r.Function, Public: r.Public}
	}
	return out
}

// CORS, as the contract's Browsers section says. Header names are sent in
// exactly this case.
var (
	CORSAllowHeaders  = []string{"Authorization", "Content-Type", "X-Workspace-ID"}
	CORSExposeHeaders = []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"}
)

// corsMaxAge is how long a browser may reuse a preflight answer: short enough
// that a changed allowedOrigins applies within minutes (Chromium caps it at
// 2 h anyway).
const corsMaxAge = 600

// routesByPath groups t by path: the paths in t's order, and each path's
// methods in t's order.
func routesByPath(t route.Table) (paths []string, methods map[string][]string) {
	methods = map[string][]string{}
	for _, r := range t {
		if _, ok := methods[r.Path]; !ok {
			paths = append(paths, r.Path)
		}
		methods[r.Path] = append(methods[r.Path], r.Method)
	}
	return paths, methods
}

// notFoundType is the response type of a request no route matches; its
// message lists the routes.
const notFoundType = "MISSING_AUTHENTICATION_TOKEN"

// notFoundMessage is that message for the routes t.
func notFoundMessage(t route.Table) string { return "No such route. Routes: " + t.Summary() + "." }

// pathParams are the {name} segments of a route path.
func pathParams(path string) []string {
	var names []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, seg[1:len(seg)-1])
		}
	}
	return names
}

// GatewayResponse is how API Gateway answers when it, not a Lambda, ends a
// request; the body is the contract's error envelope.
type GatewayResponse struct {
	Type string // API Gateway response type
	// Status is the HTTP status; 0 sets none, so API Gateway keeps the
	// status of the error it met.
	Status  int
	Code    string // envelope error.code
	Message string // envelope error.message: a JSON string literal, or a $context variable that renders as one
	Headers map[string]string
}

// Messages of gateway responses that local mode's gateway renders too
// (local/gateway spells them the same).
const (
	MsgPayloadTooLarge = "The request body is over API Gateway's 10 MB limit."
)

// GatewayResponses are rendered for every error API Gateway produces itself:
// each response type API Gateway documents, with its own status (keygate
// changes two on purpose, named below) and the contract's code for that
// status. Only $context.error.messageString (API Gateway's own message,
// already a quoted JSON string), $context.requestId and the ACCESS_DENIED
// line's variables are templated in: nothing a client sent is echoed.
var GatewayResponses = []GatewayResponse{
	// The authorizer said "Unauthorized", or the Authorization header (the
	// identity source) was missing and the authorizer was not even called.
	{Type: "UNAUTHORIZED", Status: 401, Code: "Unauthorized",
		Message: quote("Send Authorization: Bearer <API key or token>; the credential was missing, malformed, unknown, revoked or expired.")},
	// The authorizer's policy does not list this method: a key limited to
	// scopes that do not include the route's. Gateway responses substitute
	// $context variables (no VTL), so the message names the key's scopes and
	// the route.
	{Type: "ACCESS_DENIED", Status: 403, Code: "Forbidden",
		Message: quote("This API key's scopes ($context.authorizer.scopes) do not allow $context.httpMethod $context.resourcePath; GET /v1/scopes lists the scope each route needs.")},
	// API Gateway's name for a request that matches no route (403 by
	// default): keygate answers 404, as the contract says for no such route.
	{Type: notFoundType, Status: 404, Code: "NotFound",
		Message: quote(notFoundMessage(route.Keygate))},
	{Type: "RESOURCE_NOT_FOUND", Status: 404, Code: "NotFound",
		Message: quote("No such route.")},
	// Stage throttling (the throttle settings), before any Lambda runs.
	{Type: "THROTTLED", Status: 429, Code: "RateLimitExceeded",
		Message: quote("Too many requests to this API right now; retry after a short pause."),
		Headers: map[string]string{"Retry-After": "1"}},
	// Usage-plan quotas; keygate has none, but the type must not leak
	// API Gateway's own body if one is ever attached.
	{Type: "QUOTA_EXCEEDED", Status: 429, Code: "RateLimitExceeded",
		Message: quote("The request quota for this API is spent; retry later.")},
	// The authorizer failed, timed out or was throttled at its reserved
	// concurrency (500 by default): almost always the store or the JWKS
	// endpoint being unreachable, so keygate answers 503, retry shortly.
	{Type: "AUTHORIZER_FAILURE", Status: 503, Code: "ServiceUnavailable",
		Message: quote("The credential could not be checked right now; retry shortly.")},
	// What API Gateway reports when the authorizer Lambda returns an error
	// other than "Unauthorized" (AuthorizerConfigurationException), which is
	// how keygate's authorizer reports an unreachable or throttled store.
	{Type: "AUTHORIZER_CONFIGURATION_ERROR", Status: 503, Code: "ServiceUnavailable",
		Message: quote("The credential could not be checked right now; retry shortly.")},
	// A required path parameter missing, a body the validator refuses:
	// API Gateway's own message is safe and says which.
	{Type: "BAD_REQUEST_PARAMETERS", Status: 400, Code: "BadRequest", Message: "$context.error.messageString"},
	{Type: "BAD_REQUEST_BODY", Status: 400, Code: "BadRequest", Message: "$context.error.messageString"},
	// A body over API Gateway's 10 MB payload limit, before any Lambda.
	{Type: "REQUEST_TOO_LARGE", Status: 413, Code: "PayloadTooLarge", Message: quote(MsgPayloadTooLarge)},
	{Type: "UNSUPPORTED_MEDIA_TYPE", Status: 415, Code: "UnsupportedMediaType",
		Message: quote("This API takes request bodies as application/json.")},
	// The route's Lambda did not answer within the integration's 29 s
	// (keygate's own stop at 10 s; a product's Lambda may run longer), or
	// could not be reached.
	{Type: "INTEGRATION_TIMEOUT", Status: 504, Code: "GatewayTimeout",
		Message: quote("The route did not answer in time; retry shortly. If it persists, report request id $context.requestId.")},
	{Type: "INTEGRATION_FAILURE", Status: 504, Code: "GatewayTimeout",
		Message: quote("The route could not be reached; retry shortly. If it persists, report request id $context.requestId.")},
	{Type: "API_CONFIGURATION_ERROR", Status: 500, Code: "InternalError",
		Message: quote("The API is misconfigured; report request id $context.requestId.")},
	// IAM authorization, usage-plan API keys and a web ACL: keygate uses
	// none, but should one be added, its refusals keep their 403.
	{Type: "EXPIRED_TOKEN", Status: 403, Code: "Forbidden", Message: quote("The request's AWS credentials have expired.")},
	{Type: "INVALID_SIGNATURE", Status: 403, Code: "Forbidden", Message: quote("The request's AWS signature does not verify.")},
	{Type: "INVALID_API_KEY", Status: 403, Code: "Forbidden", Message: quote("The x-api-key header is not a key of this API's usage plans.")},
	{Type: "WAF_FILTERED", Status: 403, Code: "Forbidden", Message: quote("The request was blocked by the API's web application firewall.")},
	// Any other 4xx API Gateway may add later keeps its own status (no
	// status set here); the envelope says BadRequest with its own message.
	{Type: "DEFAULT_4XX", Code: "BadRequest", Message: "$context.error.messageString"},
	// Any other 5xx, chiefly a route Lambda that crashed, timed out on its
	// own or was throttled (API Gateway's 502 or 500): the contract's 500.
	{Type: "DEFAULT_5XX", Status: 500, Code: "InternalError",
		Message: quote("The service failed to answer; retry later. If it persists, report request id $context.requestId.")},
}

// quote renders s as a JSON string literal, leaving <, > and & readable.
func quote(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err) // a Go string always encodes
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Body is the response template: the contract's error envelope.
func (g GatewayResponse) Body() string {
	return fmt.Sprintf(`{"success":false,"error":{"code":%s,"message":%s}}`, quote(g.Code), g.Message)
}

// newRestAPI defines the REST API and its stage, without routes: the console's
// CSP names the API's origin, and the functions' CORS settings name the
// console's, so the API exists before either and gets its routes after both.
func newRestAPI(scope constructs.Construct, s Settings) awsapigateway.RestApi {
	accessLogs := awslogs.NewLogGroup(scope, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     retentionDays[s.LogRetentionDays],
		RemovalPolicy: removalPolicy(s),
	})

	apiProps := &awsapigateway.RestApiProps{
		RestApiName: jsii.String("keygate-" + s.Stage),
		Description: jsii.String("keygate API keys and usage (" + s.Stage + ")"),
		// Regional: clients reach the region directly; an edge-optimized
		// endpoint adds a CloudFront hop that helps only far-away clients.
		EndpointTypes: &[]awsapigateway.EndpointType{awsapigateway.EndpointType_REGIONAL},
		// Access and execution logging need the region's API Gateway account
		// setting to name a CloudWatch role. The role is account-wide, so it is
		// kept when the stack is deleted (other APIs may rely on it).
		CloudWatchRole: jsii.Bool(s.APIGatewayCloudWatchRole),
		DeployOptions: &awsapigateway.StageOptions{
			StageName:            jsii.String(s.Stage),
			ThrottlingRateLimit:  jsii.Number(s.ThrottleRateLimit),
			ThrottlingBurstLimit: jsii.Number(float64(s.ThrottleBurstLimit)),
			AccessLogDestination: awsapigateway.NewLogGroupLogDestination(accessLogs),
			AccessLogFormat:      awsapigateway.AccessLogFormat_Custom(jsii.String(accessLogFormat())),
			// ERROR, not INFO: INFO execution logs record each request's
			// headers, and the Authorization header must never reach a log.
			// Data trace (full requests and responses) stays off likewise.
			LoggingLevel:     awsapigateway.MethodLoggingLevel_ERROR,
			DataTraceEnabled: jsii.Bool(false),
			TracingEnabled:   jsii.Bool(true),
		},
	}
	if s.APIGatewayCloudWatchRole {
		apiProps.CloudWatchRoleRemovalPolicy = awscdk.RemovalPolicy_RETAIN
	}
	api := awsapigateway.NewRestApi(scope, jsii.String("Api"), apiProps)
	// ApiUrl, among the stack's outputs, replaces RestApi's own Endpoint output.
	api.Node().TryRemoveChild(jsii.String("Endpoint"))
	if s.APIGatewayCloudWatchRole {
		suppress(api.Node().FindChild(jsii.String("CloudWatchRole")), "IAM4",
			"This is the account-level role API Gateway itself uses to write execution and access logs for every REST API in the region; AmazonAPIGatewayPushToCloudWatchLogs is the AWS-managed service-role policy made for exactly that, and a narrower customer policy would break logging for other APIs in the account.",
			"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
	}
	suppress(api.DeploymentStage(), "APIG3",
		"No WAF web ACL by default: it costs per ACL and per request and needs rules chosen per deployment. Abuse is bounded by stage throttling, the authorizer's reserved concurrency and each key's exact daily limit; associate a web ACL with the stage where a deployment needs IP or bot rules.")
	return api
}

// apiChildID names a construct keygate adds to the API itself (the request
// validator, the gateway responses): as it always was on keygate's own API,
// prefixed with Keygate on a product's, whose own children may have such ids.
func (k *Keygate) apiChildID(id string) *string {
	if k.ownAPI {
		return jsii.String(id)
	}
	return jsii.String("Keygate" + id)
}

// addRoutes adds the authorizer, keygate's routes, their CORS preflights and
// the envelope-rendering gateway responses.
func (k *Keygate) addRoutes() {
	s := k.Settings
	// Header-only identity source: a request without Authorization is
	// answered 401 by API Gateway without invoking the authorizer. The cache
	// key is the header value, so a cached answer is reused on every route.
	k.Authorizer = awsapigateway.NewRequestAuthorizer(k.Node, jsii.String("Authorizer"), &awsapigateway.RequestAuthorizerProps{
		AuthorizerName: jsii.String("keygate-" + s.Stage),
		Handler:        k.Functions["authorizer"],
		IdentitySources: &[]*string{
			awsapigateway.IdentitySource_Header(jsii.String("Authorization")),
		},
		// On by default (300 s): a cached Allow cannot outlive a revocation,
		// expiry, grace end, suspension or lowered limit, because the meter's
		// single conditional write on the key's budget enforces all of them
		// on every request, cached or not; and a cached JWT principal carries
		// the token's exp, which the functions check.
		ResultsCacheTtl: awscdk.Duration_Seconds(jsii.Number(float64(s.AuthorizerCacheTTLSeconds))),
	})

	// Bodies are validated by the functions, whose messages name the field;
	// the validator checks required path parameters (and would check a body
	// model if one were ever attached).
	k.validator = k.API.AddRequestValidator(k.apiChildID("Validator"), &awsapigateway.RequestValidatorOptions{
		RequestValidatorName:      jsii.String("keygate-" + s.Stage),
		ValidateRequestBody:       jsii.Bool(true),
		ValidateRequestParameters: jsii.Bool(true),
	})

	for _, rt := range route.Keygate {
		method := k.addMethod(rt, k.Functions[rt.Function], jsii.String(lambdaSpecs[rt.Function].id))
		if rt.Public {
			suppress(method, "APIG4",
				"GitHub's secret scanning service calls this route with no bearer credential, by design of its partner program; the function authenticates every report itself by verifying GitHub's ECDSA P-256 signature over the raw body against GitHub's published keys, answers 401 otherwise, and can only revoke or flag keys that the report proves are public.")
			suppress(method, "COG4",
				"GitHub cannot hold a Cognito token: the caller is GitHub's secret scanning service, authenticated by its ECDSA signature over the body (verified by the function), not by a user pool.")
		}
	}
	// The preflights after every method, as they always were: the order in
	// which methods join the API is part of its deployment's logical id.
	paths, _ := routesByPath(route.Keygate)
	for _, path := range paths {
		k.addPreflight(path)
	}

	// Gateway responses cannot choose among several origins (their header
	// values are static or copied from the request), so they name the
	// first: the console's when there is one. Extra allowedOrigins get CORS
	// on every function response and preflight, but not on gateway-made
	// errors.
	for _, g := range GatewayResponses {
		headers := map[string]*string{"Content-Type": jsii.String("'application/json'")}
		if len(k.origins) > 0 {
			headers["Access-Control-Allow-Origin"] = jsii.String("'" + k.origins[0] + "'")
			headers["Access-Control-Expose-Headers"] = jsii.String("'" + strings.Join(CORSExposeHeaders, ",") + "'")
		}
		for name, v := range g.Headers {
			headers[name] = jsii.String("'" + v + "'")
		}
		var status *string
		if g.Status != 0 {
			status = jsii.String(fmt.Sprint(g.Status))
		}
		body := jsii.String(g.Body())
		if g.Type == notFoundType {
			// The list of routes includes the product's, which AddRoute
			// adds after this.
			body = lazyString(func() string {
				g := g
				g.Message = quote(notFoundMessage(k.routes()))
				return g.Body()
			})
		}
		k.API.AddGatewayResponse(k.apiChildID("Response"+g.Type), &awsapigateway.GatewayResponseOptions{
			Type:            awsapigateway.ResponseType_Of(jsii.String(g.Type)),
			StatusCode:      status,
			ResponseHeaders: &headers,
			Templates:       &map[string]*string{"application/json": body},
		})
	}
}

// routes are the API's routes behind keygate: keygate's, then the product's.
func (k *Keygate) routes() route.Table {
	return append(append(route.Table{}, route.Keygate...), k.Product...)
}

// addMethod puts fn on the API as rt: behind the authorizer unless the route
// is public, with the route's path parameters required.
func (k *Keygate) addMethod(rt route.Route, fn awslambda.IFunction, operation *string) awsapigateway.Method {
	params := map[string]*bool{}
	for _, name := range pathParams(rt.Path) {
		params["method.request.path."+name] = jsii.Bool(true)
	}
	integration := awsapigateway.NewLambdaIntegration(fn, &awsapigateway.LambdaIntegrationOptions{
		Proxy: jsii.Bool(true),
		// No console test-invoke permission: one invoke grant per method.
		AllowTestInvoke: jsii.Bool(false),
	})
	opts := &awsapigateway.MethodOptions{
		AuthorizationType: awsapigateway.AuthorizationType_CUSTOM,
		Authorizer:        k.Authorizer,
		RequestValidator:  k.validator,
		RequestParameters: &params,
		OperationName:     operation,
	}
	if rt.Public {
		opts.AuthorizationType, opts.Authorizer = awsapigateway.AuthorizationType_NONE, nil
	}
	method := k.API.Root().ResourceForPath(jsii.String(rt.Path)).AddMethod(jsii.String(rt.Method), integration, opts)
	if !rt.Public {
		suppress(method, "COG4",
			"Every method uses keygate's Lambda REQUEST authorizer, which must also accept API keys (a Cognito authorizer cannot). It verifies Cognito JWTs itself: RS256 signature against the pool's JWKS, iss, exp, token_use, and client_id (access token) or aud (ID token).")
	}
	return method
}

// addPreflight answers CORS preflights on path's resource: a mock
// integration (no Lambda, no credential; browsers never send one on a
// preflight). The first origin is answered statically; for the others CDK
// renders a VTL template that echoes the request's Origin when it is one of
// them (and sets Vary: Origin). Another origin gets the first, which its
// browser refuses. cdk-nag's APIG4 and COG4 recognise such a method (an
// OPTIONS answering 204 with Access-Control-Allow-* headers) as a CORS
// preflight and do not apply, so it needs no suppression. The allowed
// methods are every route's on the path, keygate's and the product's, so
// they are rendered at synthesis. Nothing is added without origins, or
// where the API already answers OPTIONS (a RestApi with
// defaultCorsPreflightOptions).
func (k *Keygate) addPreflight(path string) {
	if len(k.origins) == 0 || k.preflights[path] {
		return
	}
	k.preflights[path] = true
	res := k.API.Root().ResourceForPath(jsii.String(path))
	if res.Node().TryFindChild(jsii.String("OPTIONS")) != nil {
		return
	}
	methods := lazyString(func() string {
		_, byPath := routesByPath(k.routes())
		return strings.Join(append(byPath[path], "OPTIONS"), ",")
	})
	res.AddCorsPreflight(&awsapigateway.CorsOptions{
		AllowOrigins: jsii.Strings(k.origins...),
		AllowHeaders: jsii.Strings(CORSAllowHeaders...),
		AllowMethods: &[]*string{methods},
		// Bearer tokens in a header, never cookies.
		AllowCredentials: jsii.Bool(false),
		MaxAge:           awscdk.Duration_Seconds(jsii.Number(corsMaxAge)),
	})
}

// accessLogFormat is one JSON line per request. It names the caller by the
// authorizer's principalId (the Cognito sub), never by a credential.
func accessLogFormat() string {
	fields := []struct{ k, v string }{
		{"requestId", "$context.requestId"},
		{"requestTime", "$context.requestTime"},
		{"ip", "$context.identity.sourceIp"},
		{"userAgent", "$context.identity.userAgent"},
		{"httpMethod", "$context.httpMethod"},
		{"resourcePath", "$context.resourcePath"},
		{"path", "$context.path"},
		{"status", "$context.status"},
		{"protocol", "$context.protocol"},
		{"responseLength", "$context.responseLength"},
		{"responseLatency", "$context.responseLatency"},
		{"integrationLatency", "$context.integrationLatency"},
		{"principalId", "$context.authorizer.principalId"},
		{"authorizerStatus", "$context.authorizer.status"},
		{"authorizerLatency", "$context.authorizer.latency"},
		{"errorType", "$context.error.responseType"},
		{"xrayTraceId", "$context.xrayTraceId"},
	}
	out := "{"
	for i, f := range fields {
		if i > 0 {
			out += ","
		}
		out += fmt.Sprintf("%q:%q", f.k, f.v)
	}
	return out + "}"
}
