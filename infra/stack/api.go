package stack

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// Route is one method of the REST API and the Lambda that answers it.
type Route struct {
	Method, Path, Lambda string
}

// Routes are the contract's routes (API.md), each behind the authorizer.
var Routes = []Route{
	{"POST", "/v1/api-keys", "createkey"},
	{"GET", "/v1/api-keys", "listkeys"},
	{"PATCH", "/v1/api-keys/{prefix}", "updatekey"},
	{"DELETE", "/v1/api-keys/{prefix}", "revokekey"},
	{"GET", "/v1/usage", "usage"},
}

// GatewayResponse is how API Gateway answers when it, not a Lambda, ends a
// request; the body is the contract's error envelope.
type GatewayResponse struct {
	Type    string // API Gateway response type
	Status  int
	Code    string // envelope error.code
	Message string // envelope error.message: a JSON string literal, or a $context variable that renders as one
	Headers map[string]string
}

// GatewayResponses are rendered for every error API Gateway produces itself.
// Only $context.error.messageString (API Gateway's own message, already a
// quoted JSON string) and $context.requestId are templated in: nothing a client
// sent is echoed.
var GatewayResponses = []GatewayResponse{
	// The authorizer said "Unauthorized", or the Authorization header (the
	// identity source) was missing and the authorizer was not even called.
	{Type: "UNAUTHORIZED", Status: 401, Code: "Unauthorized",
		Message: quote("Send Authorization: Bearer <API key or token>; the credential was missing, malformed, unknown, revoked or expired.")},
	// The authorizer returned a Deny policy.
	{Type: "ACCESS_DENIED", Status: 403, Code: "Forbidden",
		Message: quote("The credential is valid but may not make this request.")},
	// API Gateway's name for a request that matches no route.
	{Type: "MISSING_AUTHENTICATION_TOKEN", Status: 404, Code: "NotFound",
		Message: quote("No such route. Routes: POST|GET /v1/api-keys, PATCH|DELETE /v1/api-keys/{prefix}, GET /v1/usage.")},
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
	// The authorizer failed or timed out: almost always the store or the
	// JWKS endpoint being unreachable, so a retry is the right advice.
	{Type: "AUTHORIZER_FAILURE", Status: 503, Code: "ServiceUnavailable",
		Message: quote("The credential could not be checked right now; retry shortly.")},
	// What API Gateway reports when the authorizer Lambda returns an error
	// other than "Unauthorized" (AuthorizerConfigurationException), which is
	// how keygate's authorizer reports an unreachable or throttled store.
	{Type: "AUTHORIZER_CONFIGURATION_ERROR", Status: 503, Code: "ServiceUnavailable",
		Message: quote("The credential could not be checked right now; retry shortly.")},
	// Every other 4xx API Gateway produces (bad request parameters or body,
	// request too large, unsupported media type): its own message is safe.
	{Type: "DEFAULT_4XX", Status: 400, Code: "BadRequest",
		Message: "$context.error.messageString"},
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

func newAPI(st awscdk.Stack, s Settings, fns map[string]awslambda.Function) (awsapigateway.RestApi, awsapigateway.RequestAuthorizer) {
	accessLogs := awslogs.NewLogGroup(st, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
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
	api := awsapigateway.NewRestApi(st, jsii.String("Api"), apiProps)
	// ApiUrl, among the stack's outputs, replaces RestApi's own Endpoint output.
	api.Node().TryRemoveChild(jsii.String("Endpoint"))
	if s.APIGatewayCloudWatchRole {
		suppress(api.Node().FindChild(jsii.String("CloudWatchRole")), "IAM4",
			"This is the account-level role API Gateway itself uses to write execution and access logs for every REST API in the region; AmazonAPIGatewayPushToCloudWatchLogs is the AWS-managed service-role policy made for exactly that, and a narrower customer policy would break logging for other APIs in the account.",
			"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
	}
	suppress(api.DeploymentStage(), "APIG3",
		"No WAF web ACL by default: it costs per ACL and per request and needs rules chosen per deployment. Abuse is bounded by stage throttling and by each key's exact daily limit; associate a web ACL with the stage where a deployment needs IP or bot rules.")

	// Header-only identity source: a request without Authorization is
	// answered 401 by API Gateway without invoking the authorizer. The cache
	// key is the header value, so a cached answer is reused on every route.
	authorizer := awsapigateway.NewRequestAuthorizer(st, jsii.String("Authorizer"), &awsapigateway.RequestAuthorizerProps{
		AuthorizerName: jsii.String("keygate-" + s.Stage),
		Handler:        fns["authorizer"],
		IdentitySources: &[]*string{
			awsapigateway.IdentitySource_Header(jsii.String("Authorization")),
		},
		// Off by default: a cached Allow outlives a revocation, and a cached
		// dailyLimit outlives a PATCH, for up to the TTL. See DEPLOY.md.
		ResultsCacheTtl: awscdk.Duration_Seconds(jsii.Number(float64(s.AuthorizerCacheTTLSeconds))),
	})

	// Bodies are validated by the functions, whose messages name the field;
	// the validator checks required path parameters (and would check a body
	// model if one were ever attached).
	validator := api.AddRequestValidator(jsii.String("Validator"), &awsapigateway.RequestValidatorOptions{
		RequestValidatorName:      jsii.String("keygate-" + s.Stage),
		ValidateRequestBody:       jsii.Bool(true),
		ValidateRequestParameters: jsii.Bool(true),
	})

	resources := map[string]awsapigateway.IResource{"": api.Root()}
	var resource func(path string) awsapigateway.IResource
	resource = func(path string) awsapigateway.IResource {
		if r, ok := resources[path]; ok {
			return r
		}
		i := strings.LastIndexByte(path, '/')
		r := resource(path[:i]).AddResource(jsii.String(path[i+1:]), nil)
		resources[path] = r
		return r
	}
	for _, rt := range Routes {
		params := map[string]*bool{}
		if rt.Path == "/v1/api-keys/{prefix}" {
			params["method.request.path.prefix"] = jsii.Bool(true)
		}
		integration := awsapigateway.NewLambdaIntegration(fns[rt.Lambda], &awsapigateway.LambdaIntegrationOptions{
			Proxy: jsii.Bool(true),
			// No console test-invoke permission: one invoke grant per method.
			AllowTestInvoke: jsii.Bool(false),
		})
		method := resource(rt.Path).AddMethod(jsii.String(rt.Method), integration, &awsapigateway.MethodOptions{
			AuthorizationType: awsapigateway.AuthorizationType_CUSTOM,
			Authorizer:        authorizer,
			RequestValidator:  validator,
			RequestParameters: &params,
			OperationName:     jsii.String(lambdaSpecs[rt.Lambda].id),
		})
		suppress(method, "COG4",
			"Every method uses keygate's Lambda REQUEST authorizer, which must also accept API keys (a Cognito authorizer cannot). It verifies Cognito JWTs itself: RS256 signature against the pool's JWKS, iss, exp, token_use, and client_id (access token) or aud (ID token).")
	}

	for _, g := range GatewayResponses {
		headers := map[string]*string{"Content-Type": jsii.String("'application/json'")}
		for k, v := range g.Headers {
			headers[k] = jsii.String("'" + v + "'")
		}
		api.AddGatewayResponse(jsii.String("Response"+g.Type), &awsapigateway.GatewayResponseOptions{
			Type:            awsapigateway.ResponseType_Of(jsii.String(g.Type)),
			StatusCode:      jsii.String(fmt.Sprint(g.Status)),
			ResponseHeaders: &headers,
			Templates:       &map[string]*string{"application/json": jsii.String(g.Body())},
		})
	}
	return api, authorizer
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
