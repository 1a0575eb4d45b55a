package stack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// ConsoleConfigKey is the runtime configuration the stack writes next to the
// console's files; the console fetches /config.json when it starts. Its shape
// ({"apiUrl", "region", "userPoolId", "clientId", "defaultDailyLimit",
// "maxKeyLifetimeDays", "tierCaps"}) is agreed with console/ (src/config.ts).
const ConsoleConfigKey = "config.json"

// Console is the web console's hosting: a private bucket behind CloudFront.
type Console struct {
	Bucket       awss3.Bucket
	Distribution awscloudfront.Distribution
	// Origin is the console's web origin, https://<distribution domain>: the
	// one CORS origin the API always allows.
	Origin *string
}

// ConsoleConfig is what the console needs to know at run time, all of it
// public (the app client has no secret). The limits are the deployment's
// settings, which the console's forms show (a new key's limit when none is
// given, the latest expiry date it offers, each paid tier's highest daily
// limit).
type ConsoleConfig struct {
	APIURL, Region, UserPoolID, ClientID  *string
	DefaultDailyLimit, MaxKeyLifetimeDays int
	TierCaps                              map[string]int
}

// newConsoleHosting defines the bucket and the distribution. apiOrigin and
// cognitoOrigin are the only places, besides the console's own origin, that
// its Content-Security-Policy lets it connect to.
func newConsoleHosting(st awscdk.Stack, s Settings, apiOrigin, cognitoOrigin string) *Console {
	bucket := awss3.NewBucket(st, jsii.String("ConsoleBucket"), &awss3.BucketProps{
		// Private: only CloudFront reads it (origin access control); no
		// website hosting, no ACLs, no public access of any kind.
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		// The files are a build of console/ in git, not data: nothing to
		// keep, and the deployment deletes them with the stack (below), so the
		// bucket can go too, in every stage.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	suppress(bucket, "S1",
		"The bucket holds only the console's public static build (HTML, JS, CSS and a config.json of public identifiers) and is read by nobody but CloudFront through origin access control. Server access logs would record CloudFront's own fetches and need a second, ACL-enabled bucket that outlives the stack; the API's access log, which records every credentialed request, is on.")

	headers := awscloudfront.NewResponseHeadersPolicy(st, jsii.String("ConsoleHeaders"), &awscloudfront.ResponseHeadersPolicyProps{
		Comment: jsii.String("keygate console (" + s.Stage + "): security headers"),
		SecurityHeadersBehavior: &awscloudfront.ResponseSecurityHeadersBehavior{
			ContentSecurityPolicy: &awscloudfront.ResponseHeadersContentSecurityPolicy{
				ContentSecurityPolicy: jsii.String(ContentSecurityPolicy(apiOrigin, cognitoOrigin)),
				Override:              jsii.Bool(true),
			},
			StrictTransportSecurity: &awscloudfront.ResponseHeadersStrictTransportSecurity{
				AccessControlMaxAge: awscdk.Duration_Days(jsii.Number(730)),
				IncludeSubdomains:   jsii.Bool(true),
				Override:            jsii.Bool(true),
			},
			ContentTypeOptions: &awscloudfront.ResponseHeadersContentTypeOptions{Override: jsii.Bool(true)},
			FrameOptions: &awscloudfront.ResponseHeadersFrameOptions{
				FrameOption: awscloudfront.HeadersFrameOption_DENY, Override: jsii.Bool(true),
			},
			// The console's URLs carry nothing secret, but no other site
			// needs to learn them either.
			ReferrerPolicy: &awscloudfront.ResponseHeadersReferrerPolicy{
				ReferrerPolicy: awscloudfront.HeadersReferrerPolicy_NO_REFERRER, Override: jsii.Bool(true),
			},
		},
		CustomHeadersBehavior: &awscloudfront.ResponseCustomHeadersBehavior{
			CustomHeaders: &[]*awscloudfront.ResponseCustomHeader{{
				Header:   jsii.String("Permissions-Policy"),
				Value:    jsii.String("camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
				Override: jsii.Bool(true),
			}},
		},
	})

	spaFallback := func(status float64) *awscloudfront.ErrorResponse {
		return &awscloudfront.ErrorResponse{
			HttpStatus: jsii.Number(status), ResponseHttpStatus: jsii.Number(200),
			ResponsePagePath: jsii.String("/index.html"), Ttl: awscdk.Duration_Seconds(jsii.Number(60)),
		}
	}
	dist := awscloudfront.NewDistribution(st, jsii.String("ConsoleDistribution"), &awscloudfront.DistributionProps{
		Comment: jsii.String("keygate console (" + s.Stage + ")"),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin:                awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(bucket, nil),
			ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
			AllowedMethods:        awscloudfront.AllowedMethods_ALLOW_GET_HEAD(),
			CachePolicy:           awscloudfront.CachePolicy_CACHING_OPTIMIZED(),
			ResponseHeadersPolicy: headers,
			Compress:              jsii.Bool(true),
		},
		DefaultRootObject: jsii.String("index.html"),
		// A single-page app routes in the browser: a path that is not a file
		// is the app. The bucket answers 403 for a missing key (CloudFront may
		// not list it), 404 in case it ever may.
		ErrorResponses: &[]*awscloudfront.ErrorResponse{spaFallback(403), spaFallback(404)},
		HttpVersion:    awscloudfront.HttpVersion_HTTP2_AND_3,
		// North America and Europe edges: a ~100 KB bundle cached by the
		// browser gains little from the dearer edge locations.
		PriceClass: awscloudfront.PriceClass_PRICE_CLASS_100,
	})
	suppress(dist, "CFR1",
		"No geo restriction: keygate serves its customers wherever they are, and the console holds no data itself; every API call it makes is authenticated and limited by the API.")
	suppress(dist, "CFR2",
		"No WAF web ACL: the distribution serves only the console's static files and config.json of public identifiers, read-only (GET/HEAD) and cached; a web ACL costs per ACL and per request. Attach one where a deployment needs IP or bot rules.")
	suppress(dist, "CFR3",
		"No CloudFront access logs: they would record only downloads of the public static console, and standard logging needs an ACL-enabled bucket that outlives the stack. Every request that carries a credential goes to the API, whose access log is on.")
	suppress(dist, "CFR4",
		"The distribution uses CloudFront's default *.cloudfront.net certificate (no custom domain), with which CloudFront does not let the viewer TLS policy be raised. A deployment with its own domain sets an ACM certificate and TLSv1.2_2021 as the minimum.")

	return &Console{
		Bucket:       bucket,
		Distribution: dist,
		Origin:       jsii.String("https://" + *dist.DistributionDomainName()),
	}
}

// ContentSecurityPolicy is the console's CSP, the very one local mode serves
// (local/webapp.ConsoleHandler), so the browser tests run under it: scripts,
// styles and fonts from the console's own origin only (no inline script or
// style), images from it and data: URLs (the empty favicon), connections to
// its own origin (config.json), the API and Cognito's user-pool endpoint (SRP
// sign-in), and nothing else: no plugins, framing, base or form targets.
func ContentSecurityPolicy(apiOrigin, cognitoOrigin string) string {
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data:",
		"font-src 'self'",
		"connect-src 'self' " + apiOrigin + " " + cognitoOrigin,
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

// deploy uploads the built console from dir and writes config.json beside it,
// then invalidates CloudFront's cache so index.html and config.json are fresh
// after every deploy (built asset names carry content hashes).
func (c *Console) deploy(st awscdk.Stack, s Settings, dir string, cfg ConsoleConfig) {
	logs := awslogs.NewLogGroup(st, jsii.String("ConsoleDeploymentLogs"), &awslogs.LogGroupProps{
		Retention:     retentionDays[s.LogRetentionDays],
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	awss3deployment.NewBucketDeployment(st, jsii.String("ConsoleDeployment"), &awss3deployment.BucketDeploymentProps{
		DestinationBucket: c.Bucket,
		// config.json last: it replaces any file of that name in the build.
		Sources: &[]awss3deployment.ISource{
			awss3deployment.Source_Asset(jsii.String(dir), nil),
			awss3deployment.Source_JsonData(jsii.String(ConsoleConfigKey), map[string]any{
				"apiUrl":             cfg.APIURL,
				"region":             cfg.Region,
				"userPoolId":         cfg.UserPoolID,
				"clientId":           cfg.ClientID,
				"defaultDailyLimit":  jsii.Number(float64(cfg.DefaultDailyLimit)),
				"maxKeyLifetimeDays": jsii.Number(float64(cfg.MaxKeyLifetimeDays)),
				"tierCaps":           tierCapsJSON(cfg.TierCaps),
			}, nil),
		},
		Prune:             jsii.Bool(true),
		RetainOnDelete:    jsii.Bool(false),
		Distribution:      c.Distribution,
		DistributionPaths: jsii.Strings("/*"),
		LogGroup:          logs,
	})

	// The deployment's Lambda is a CDK singleton at the stack's root, shared
	// by every BucketDeployment of the stack; its findings are about CDK's
	// own construct, which keygate cannot change.
	for _, child := range *st.Node().Children() {
		if strings.HasPrefix(*child.Node().Id(), "Custom::CDKBucketDeployment") {
			suppressBucketDeploymentHandler(child)
		}
	}
}

// tierCapsJSON is the caps as config.json's tierCaps: {"pro": 10000, ...}.
func tierCapsJSON(caps map[string]int) map[string]any {
	out := make(map[string]any, len(caps))
	for tier, n := range caps {
		out[tier] = jsii.Number(float64(n))
	}
	return out
}

func suppressBucketDeploymentHandler(handler constructs.IConstruct) {
	suppress(handler, "IAM4",
		"CDK's BucketDeployment handler role uses AWSLambdaBasicExecutionRole (CloudWatch Logs writes only); the construct creates the role and does not take a narrower one without also taking over its S3 grants.",
		"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
	suppress(handler, "IAM5",
		"CDK's BucketDeployment handler copies the build: s3:GetObject*/List* on the CDK asset bucket's objects and s3:*Object*/List* on the console bucket's objects need object wildcards. cloudfront:CreateInvalidation/GetInvalidation on '*' is how the construct grants the invalidation of this stack's one distribution after each deploy.")
	suppress(handler, "L1",
		"The runtime is chosen by CDK's BucketDeployment construct (pinned with the aws-cdk-lib version in infra/go.mod) and runs only at deploy time inside CloudFormation; upgrading aws-cdk-lib moves it forward.")
}

// checkConsoleDir fails early, with the command that fixes it, if dir holds
// no built console.
func checkConsoleDir(dir string) error {
	if dir == "" {
		return errors.New("no console directory: set Props.ConsoleDir to the built console (console/dist, `make console`)")
	}
	if _, err := os.Stat(filepath.Join(dir, "index.html")); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no built console in %s (index.html missing): run `make console` first (or set KEYGATE_CONSOLE_DIR)", dir)
	} else if err != nil {
		return fmt.Errorf("check console build: %w", err)
	}
	return nil
}
