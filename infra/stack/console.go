package stack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
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
func newConsoleHosting(scope constructs.Construct, s Settings, apiOrigin, cognitoOrigin string) *Console {
	bucket := awss3.NewBucket(scope, jsii.String("ConsoleBucket"), &awss3.BucketProps{
		// Private: only CloudFront reads it (origin access control); no
		// website hosting, no ACLs, no public access of any kind.
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		// The files are a build of console/ in git, not data: nothing to
		// keep, so the bucket and its files go with the stack in every stage.
		// CDK's auto-delete empties it first (S3 deletes only an empty
		// bucket); the deployments' own RetainOnDelete=false would not,
		// since its handler skips a bucket that any deployment has tagged as
		// its own, its own tag included (aws/aws-cdk#33397).
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
		AutoDeleteObjects: jsii.Bool(true),
	})
	suppress(bucket, "S1",
		"The bucket holds only the console's public static build (HTML, JS, CSS and a config.json of public identifiers) and is read by nobody but CloudFront through origin access control. Server access logs would record CloudFront's own fetches and need a second, ACL-enabled bucket that outlives the stack; the API's access log, which records every credentialed request, is on.")

	headers := awscloudfront.NewResponseHeadersPolicy(scope, jsii.String("ConsoleHeaders"), &awscloudfront.ResponseHeadersPolicyProps{
		ResponseHeadersPolicyName: globalName(s, "console-headers"),
		Comment:                   jsii.String("keygate console (" + s.Stage + "): security headers"),
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
	dist := awscloudfront.NewDistribution(scope, jsii.String("ConsoleDistribution"), &awscloudfront.DistributionProps{
		Comment: jsii.String("keygate console (" + s.Stage + ")"),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin: awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(bucket, &awscloudfrontorigins.S3BucketOriginWithOACProps{
				OriginAccessControl: awscloudfront.NewS3OriginAccessControl(scope, jsii.String("ConsoleOriginAccess"), &awscloudfront.S3OriginAccessControlProps{
					OriginAccessControlName: globalName(s, "console"),
					Description:             jsii.String("keygate console (" + s.Stage + "): CloudFront reads the private bucket"),
				}),
			}),
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

// Cache-Control of the console's files. A hashed file's name changes with
// its content, so a browser may keep it for a year without asking again.
// index.html names the hashed files and config.json holds the deployment's
// settings: a browser revalidates both on every load (a 304 while they are
// unchanged), so it never runs an old index.html against a new deployment.
var (
	HashedCacheControl = "public, max-age=31536000, immutable"
	EntryCacheControl  = "no-cache, must-revalidate"
)

// hashedName matches the files the console's build names by content hash
// (console/build.mjs: app-[hash].js, app-[hash].css and their licence texts).
var hashedName = regexp.MustCompile(`-[A-Z0-9]{8}(\.[A-Za-z0-9]+)+$`)

// consoleBuild is the built console's files (slash-separated paths relative
// to its directory), split by how long a browser may cache them.
type consoleBuild struct {
	dir    string
	hashed []string // named by content hash: cached for a year
	entry  []string // index.html and anything else: revalidated every time
}

// readConsoleBuild lists the built console in dir, failing early, with the
// command that fixes it, if dir holds no build. A config.json in dir (local
// mode's) is left out: the stack writes the deployment's own.
func readConsoleBuild(dir string) (consoleBuild, error) {
	if err := checkConsoleDir(dir); err != nil {
		return consoleBuild{}, err
	}
	b := consoleBuild{dir: dir}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ConsoleConfigKey:
		case hashedName.MatchString(d.Name()):
			b.hashed = append(b.hashed, rel)
		default:
			b.entry = append(b.entry, rel)
		}
		return nil
	})
	if err != nil {
		return consoleBuild{}, fmt.Errorf("read console build: %w", err)
	}
	return b, nil
}

// only is an asset of the build's directory holding just the files keep,
// given as the exclude list of everything else: gitignore patterns, which a
// leading / anchors to the directory (glob patterns would match a base name
// in any subdirectory too).
func (b consoleBuild) only(keep []string) *awss3assets.AssetOptions {
	var exclude []*string
	for _, f := range slices.Concat(b.hashed, b.entry, []string{ConsoleConfigKey}) {
		if !slices.Contains(keep, f) {
			exclude = append(exclude, jsii.String("/"+f))
		}
	}
	return &awss3assets.AssetOptions{Exclude: &exclude, IgnoreMode: awscdk.IgnoreMode_GIT}
}

// deploy uploads the built console and writes config.json beside it, in two
// steps so that no browser ever loads a page whose scripts are gone:
//
//   - ConsoleAssets: the hashed files, cached for a year (HashedCacheControl),
//     never pruned, so the previous release's scripts stay for a browser that
//     still holds its index.html (each release adds a few hundred KB);
//   - ConsoleEntry, after it: index.html, config.json and any unhashed file,
//     revalidated on every load (EntryCacheControl), then CloudFront's cache
//     is invalidated so the edges serve them fresh at once.
//
// Neither deployment deletes anything, on update or on delete (RetainOnDelete:
// with two deployments on one bucket CDK's handler would refuse anyway); the
// bucket's auto-delete empties it when the stack is deleted.
func (c *Console) deploy(scope constructs.Construct, s Settings, b consoleBuild, cfg ConsoleConfig) {
	logs := awslogs.NewLogGroup(scope, jsii.String("ConsoleDeploymentLogs"), &awslogs.LogGroupProps{
		Retention:     retentionDays[s.LogRetentionDays],
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	assets := awss3deployment.NewBucketDeployment(scope, jsii.String("ConsoleAssets"), &awss3deployment.BucketDeploymentProps{
		DestinationBucket: c.Bucket,
		Sources:           &[]awss3deployment.ISource{awss3deployment.Source_Asset(jsii.String(b.dir), b.only(b.hashed))},
		CacheControl:      &[]awss3deployment.CacheControl{awss3deployment.CacheControl_FromString(jsii.String(HashedCacheControl))},
		Prune:             jsii.Bool(false),
		RetainOnDelete:    jsii.Bool(true),
		LogGroup:          logs,
	})
	entry := awss3deployment.NewBucketDeployment(scope, jsii.String("ConsoleEntry"), &awss3deployment.BucketDeploymentProps{
		DestinationBucket: c.Bucket,
		// config.json last: it replaces any file of that name in the build.
		Sources: &[]awss3deployment.ISource{
			awss3deployment.Source_Asset(jsii.String(b.dir), b.only(b.entry)),
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
		CacheControl:      &[]awss3deployment.CacheControl{awss3deployment.CacheControl_FromString(jsii.String(EntryCacheControl))},
		Prune:             jsii.Bool(false),
		RetainOnDelete:    jsii.Bool(true),
		Distribution:      c.Distribution,
		DistributionPaths: jsii.Strings("/*"),
		LogGroup:          logs,
	})
	// The new index.html goes up only once the scripts it names are there.
	entry.Node().AddDependency(assets)

	// The deployment's Lambda is a CDK singleton at the stack's root, shared
	// by every BucketDeployment of the stack; its findings are about CDK's
	// own construct, which keygate cannot change.
	for _, child := range *awscdk.Stack_Of(scope).Node().Children() {
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
