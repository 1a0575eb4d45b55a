package stack

import (
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

func TestConsoleBucketIsPrivate(t *testing.T) {
	s := fixture(t, "dev")
	check(t, "one bucket: private, encrypted, no website, no ACLs", func() {
		s.tmpl.ResourceCountIs(jsii.String("AWS::S3::Bucket"), jsii.Number(1))
		s.tmpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
			"PublicAccessBlockConfiguration": map[string]any{
				"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
			},
			"OwnershipControls":    map[string]any{"Rules": []any{map[string]any{"ObjectOwnership": "BucketOwnerEnforced"}}},
			"BucketEncryption":     assertions.Match_ObjectLike(&map[string]any{}),
			"WebsiteConfiguration": assertions.Match_Absent(),
		})
	})
	bucketID := idOf(s.k.Stack, s.k.Console.Bucket.Node().DefaultChild())
	distID := idOf(s.k.Stack, s.k.Console.Distribution.Node().DefaultChild())
	var denyInsecure, cloudFrontRead bool
	for _, pol := range s.resources("AWS::S3::BucketPolicy") {
		if !refersTo(props(pol)["Bucket"], bucketID) {
			continue
		}
		for _, st := range asSlice(props(pol)["PolicyDocument"].(map[string]any)["Statement"]) {
			st := st.(map[string]any)
			cond, _ := json.Marshal(st["Condition"])
			principal, _ := json.Marshal(st["Principal"])
			switch {
			case st["Effect"] == "Deny" && strings.Contains(string(cond), `"aws:SecureTransport":"false"`):
				denyInsecure = true
			case st["Effect"] == "Allow" && strings.Contains(string(principal), "cloudfront.amazonaws.com") &&
				strs(st["Action"])[0] == "s3:GetObject" && refersTo(st["Condition"], distID):
				cloudFrontRead = true
			case st["Effect"] == "Allow" && strings.Contains(string(principal), autoDeleteHandler) &&
				slices.Equal(strs(st["Action"]), []string{"s3:DeleteObject*", "s3:GetBucket*", "s3:List*", "s3:PutBucketPolicy"}):
				// CDK's auto-delete empties the bucket when the stack is
				// deleted (AutoDeleteObjects), a Lambda only CloudFormation
				// invokes.
			case st["Effect"] == "Allow":
				t.Errorf("bucket policy allows more than CloudFront's reads: %v", st)
			}
		}
	}
	if !denyInsecure {
		t.Error("bucket policy does not deny requests without TLS (enforceSSL)")
	}
	if !cloudFrontRead {
		t.Error("bucket policy does not let the distribution (and only it, by SourceArn) read objects")
	}
}

func TestConsoleDistribution(t *testing.T) {
	s := fixture(t, "dev")
	check(t, "HTTPS only, index.html, SPA fallback, origin access control", func() {
		s.tmpl.ResourceCountIs(jsii.String("AWS::CloudFront::Distribution"), jsii.Number(1))
		s.tmpl.ResourceCountIs(jsii.String("AWS::CloudFront::OriginAccessControl"), jsii.Number(1))
		s.tmpl.HasResourceProperties(jsii.String("AWS::CloudFront::OriginAccessControl"), map[string]any{
			"OriginAccessControlConfig": assertions.Match_ObjectLike(&map[string]any{
				"OriginAccessControlOriginType": "s3", "SigningBehavior": "always", "SigningProtocol": "sigv4",
			}),
		})
		s.tmpl.HasResourceProperties(jsii.String("AWS::CloudFront::Distribution"), map[string]any{
			"DistributionConfig": assertions.Match_ObjectLike(&map[string]any{
				"DefaultRootObject": "index.html",
				"DefaultCacheBehavior": assertions.Match_ObjectLike(&map[string]any{
					"ViewerProtocolPolicy":    "redirect-to-https",
					"AllowedMethods":          []any{"GET", "HEAD"},
					"ResponseHeadersPolicyId": assertions.Match_AnyValue(),
				}),
				"CustomErrorResponses": []any{
					map[string]any{"ErrorCode": 403, "ResponseCode": 200, "ResponsePagePath": "/index.html", "ErrorCachingMinTTL": 60},
					map[string]any{"ErrorCode": 404, "ResponseCode": 200, "ResponsePagePath": "/index.html", "ErrorCachingMinTTL": 60},
				},
				"Origins": []any{assertions.Match_ObjectLike(&map[string]any{
					"OriginAccessControlId": assertions.Match_AnyValue(),
					"S3OriginConfig":        map[string]any{"OriginAccessIdentity": ""},
				})},
			}),
		})
	})
}

func TestConsoleSecurityHeaders(t *testing.T) {
	for _, config := range []string{"dev", "prod"} {
		s := fixture(t, config)
		policies := s.resources("AWS::CloudFront::ResponseHeadersPolicy")
		if len(policies) != 1 {
			t.Fatalf("%s: %d response headers policies, want 1", config, len(policies))
		}
		apiID := idOf(s.k.Stack, s.k.API.Node().DefaultChild())
		for _, p := range policies {
			sec := props(p)["ResponseHeadersPolicyConfig"].(map[string]any)["SecurityHeadersConfig"].(map[string]any)
			hsts := sec["StrictTransportSecurity"].(map[string]any)
			if hsts["AccessControlMaxAgeSec"].(float64) < 31536000 || hsts["IncludeSubdomains"] != true || hsts["Override"] != true {
				t.Errorf("%s: HSTS %v, want at least a year, with subdomains", config, hsts)
			}
			if sec["FrameOptions"].(map[string]any)["FrameOption"] != "DENY" || sec["ContentTypeOptions"].(map[string]any)["Override"] != true {
				t.Errorf("%s: frame/content-type options %v %v", config, sec["FrameOptions"], sec["ContentTypeOptions"])
			}
			csp := sec["ContentSecurityPolicy"].(map[string]any)
			if csp["Override"] != true || !refersTo(csp["ContentSecurityPolicy"], apiID) {
				t.Errorf("%s: CSP %v does not name the API", config, csp)
			}
			// Render the CSP with placeholder values for the tokens.
			text := renderJoin(t, csp["ContentSecurityPolicy"], map[string]string{apiID: "abc123", "AWS::Region": "us-east-1", "AWS::URLSuffix": "amazonaws.com"})
			region := "us-east-1"
			if config == "prod" {
				region = "eu-west-1" // the existing pool's, not the stack's
			}
			want := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
				"connect-src 'self' https://abc123.execute-api.us-east-1.amazonaws.com https://cognito-idp." + region +
				".amazonaws.com; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
			if text != want {
				t.Errorf("%s: CSP\n got %s\nwant %s", config, text, want)
			}
			if strings.Contains(text, "unsafe") || strings.Contains(text, "*") {
				t.Errorf("%s: CSP allows inline code or wildcards: %s", config, text)
			}
			if local := localConsoleCSP(t); local != "" {
				localText := strings.Replace(local, "connect-src 'self' ", "connect-src 'self' https://abc123.execute-api.us-east-1.amazonaws.com https://cognito-idp."+region+".amazonaws.com", 1)
				if localText != text {
					t.Errorf("%s: deployed CSP differs from the one local mode (and the browser tests) use:\n deployed %s\n local    %s", config, text, localText)
				}
			}
		}
	}
}

// renderJoin resolves a {"Fn::Join": ["", [...]]} of strings and Refs with
// values, for reading a synthesized value as text.
func renderJoin(t *testing.T, v any, refs map[string]string) string {
	t.Helper()
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if ref, ok := v["Ref"].(string); ok {
			if val, ok := refs[ref]; ok {
				return val
			}
			t.Fatalf("unresolved Ref %s", ref)
		}
		if join, ok := v["Fn::Join"].([]any); ok {
			var b strings.Builder
			for i, part := range asSlice(join[1]) {
				if i > 0 {
					b.WriteString(join[0].(string))
				}
				b.WriteString(renderJoin(t, part, refs))
			}
			return b.String()
		}
	}
	t.Fatalf("cannot render %v", v)
	return ""
}

// TestConsoleDeployment: a redeploy never blanks the console. The hashed
// files go up first, cached for a year and never pruned (a browser holding
// the previous index.html still finds its scripts); then index.html, the
// unhashed files and config.json (the runtime settings the console reads at
// start, written by the stack), revalidated on every load, and CloudFront's
// cache is invalidated. Neither deployment deletes files.
func TestConsoleDeployment(t *testing.T) {
	for _, config := range []string{"dev", "prod"} {
		s := fixture(t, config)
		deployments := s.resources("Custom::CDKBucketDeployment")
		if len(deployments) != 2 {
			t.Fatalf("%s: %d bucket deployments, want 2 (hashed assets, then the entry files)", config, len(deployments))
		}
		bucketID := idOf(s.k.Stack, s.k.Console.Bucket.Node().DefaultChild())
		distID := idOf(s.k.Stack, s.k.Console.Distribution.Node().DefaultChild())
		byCache := map[string]string{} // Cache-Control → logical id
		for id, d := range deployments {
			p := props(d)
			cc, _ := p["SystemMetadata"].(map[string]any)["cache-control"].(string)
			byCache[cc] = id
			if !refersTo(p["DestinationBucketName"], bucketID) || p["Prune"] != false || p["RetainOnDelete"] != true {
				t.Errorf("%s: deployment %s %v: want the console bucket, never pruned, nothing deleted", config, id, p)
			}
		}
		assetsID, entryID := byCache[HashedCacheControl], byCache[EntryCacheControl]
		if assetsID == "" || entryID == "" {
			t.Fatalf("%s: deployments by Cache-Control %v, want %q and %q", config, slices.Collect(maps.Keys(byCache)), HashedCacheControl, EntryCacheControl)
		}
		if HashedCacheControl != "public, max-age=31536000, immutable" || EntryCacheControl != "no-cache, must-revalidate" {
			t.Errorf("Cache-Control %q and %q", HashedCacheControl, EntryCacheControl)
		}
		assets, entry := props(deployments[assetsID]), props(deployments[entryID])

		if assets["DistributionId"] != nil {
			t.Errorf("%s: the hashed assets invalidate CloudFront (%v): their names are new with each build", config, assets["DistributionId"])
		}
		if !refersTo(entry["DistributionId"], distID) || strings.Join(strs(entry["DistributionPaths"]), ",") != "/*" {
			t.Errorf("%s: the entry files' deployment does not invalidate /* on the distribution: %v %v", config, entry["DistributionId"], entry["DistributionPaths"])
		}
		if deps := strs(deployments[entryID]["DependsOn"]); !slices.Contains(deps, assetsID) {
			t.Errorf("%s: index.html may go up before the scripts it names: entry depends on %v, not %s", config, deps, assetsID)
		}

		assetKeys := strs(assets["SourceObjectKeys"])
		if len(assetKeys) != 1 {
			t.Fatalf("%s: hashed asset sources %v, want one", config, assetKeys)
		}
		wantHashed := []string{"app-47B6KP4U.js", "app-47B6KP4U.js.LEGAL.txt", "app-J47L3APB.css", "fonts/inter-2ZQ7FJ4C.woff2"}
		if got := assetFiles(t, s, assetKeys[0]); !slices.Equal(got, wantHashed) {
			t.Errorf("%s: the year-long deployment holds %v, want exactly the hashed files %v", config, got, wantHashed)
		}
		keys := strs(entry["SourceObjectKeys"])
		if len(keys) != 2 {
			t.Fatalf("%s: entry sources %v, want the unhashed files and config.json", config, keys)
		}
		if got, want := assetFiles(t, s, keys[0]), []string{"fonts/LICENSE", "index.html", "robots.txt"}; !slices.Equal(got, want) {
			t.Errorf("%s: the revalidated deployment holds %v, want exactly %v (the build's config.json never)", config, got, want)
		}

		// config.json is the second source: a JSON document whose values
		// are deploy-time markers.
		markers := asSlice(entry["SourceMarkers"])[1].(map[string]any)
		doc := readAsset(t, s, keys[1], ConsoleConfigKey)
		var cfg map[string]any
		if err := json.Unmarshal([]byte(regexp.MustCompile(`"?<<marker:0xbaba:\d+>>"?`).ReplaceAllString(doc, `"x"`)), &cfg); err != nil {
			t.Fatalf("%s: config.json %q: %v", config, doc, err)
		}
		if len(cfg) != 7 || cfg["apiUrl"] == "" || cfg["region"] == "" || cfg["userPoolId"] == "" || cfg["clientId"] == "" {
			t.Errorf("%s: config.json %s, want exactly apiUrl, region, userPoolId, clientId, defaultDailyLimit, maxKeyLifetimeDays, tierCaps", config, doc)
		}
		// The tier caps, which the create form states before a user hits them.
		if caps, _ := cfg["tierCaps"].(map[string]any); len(caps) != 3 || caps["pro"] != 10_000.0 || caps["team"] != 50_000.0 || caps["enterprise"] != 1_000_000.0 {
			t.Errorf("%s: config.json tierCaps = %v, want the stack's caps as numbers", config, cfg["tierCaps"])
		}
		// The deployment's limits, as JSON numbers known at synth time.
		wantLimits := map[string]float64{"defaultDailyLimit": 250, "maxKeyLifetimeDays": 366}
		if config == "prod" {
			wantLimits = map[string]float64{"defaultDailyLimit": 400, "maxKeyLifetimeDays": 90}
		}
		for field, want := range wantLimits {
			if got, ok := cfg[field].(float64); !ok || got != want {
				t.Errorf("%s: config.json %s = %v, want the number %v (the stack's setting)", config, field, cfg[field], want)
			}
		}
		// A field's value: a deploy-time marker's replacement, or the
		// literal string when known at synth time.
		value := func(field string) string {
			if m := regexp.MustCompile(`"` + field + `":\s*(<<marker:0xbaba:\d+>>)`).FindStringSubmatch(doc); m != nil {
				b, _ := json.Marshal(markers[m[1]])
				return string(b)
			}
			s, _ := cfg[field].(string)
			return s
		}
		apiURL := value("apiUrl")
		if !strings.Contains(apiURL, ".execute-api.") || !refersTo(markers, idOf(s.k.Stack, s.k.API.DeploymentStage().Node().DefaultChild())) {
			t.Errorf("%s: apiUrl = %s, want the stage URL", config, apiURL)
		}
		if config == "dev" {
			poolID := idOf(s.k.Stack, s.k.UserPool.Node().DefaultChild())
			clientID := idOf(s.k.Stack, s.k.UserPoolClient.Node().DefaultChild())
			if got := value("userPoolId"); !strings.Contains(got, `"Ref":"`+poolID+`"`) {
				t.Errorf("dev: userPoolId = %s", got)
			}
			if got := value("clientId"); !strings.Contains(got, `"Ref":"`+clientID+`"`) {
				t.Errorf("dev: clientId = %s", got)
			}
			if got := value("region"); !strings.Contains(got, `"Ref":"AWS::Region"`) {
				t.Errorf("dev: region = %s", got)
			}
		} else {
			for field, want := range map[string]string{"userPoolId": "eu-west-1_AbCdEf123", "clientId": "1example23456789abcdefghij", "region": "eu-west-1"} {
				if got := value(field); !strings.Contains(got, want) {
					t.Errorf("prod: %s = %s, want %s (the existing pool, its first client)", field, got, want)
				}
			}
		}
	}
}

// TestConsoleBucketEmptiedOnDelete: S3 deletes only an empty bucket, and the
// deployments keep their files, so the bucket's auto-delete empties it when
// the stack goes (and only then).
func TestConsoleBucketEmptiedOnDelete(t *testing.T) {
	s := fixture(t, "dev")
	bucketID := idOf(s.k.Stack, s.k.Console.Bucket.Node().DefaultChild())
	n := 0
	for _, r := range s.resources("Custom::S3AutoDeleteObjects") {
		if refersTo(props(r)["BucketName"], bucketID) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d auto-delete resources for the console bucket, want 1", n)
	}
}

// assetFiles lists a staged directory asset's files (sorted, slash paths).
func assetFiles(t *testing.T, s *synthesized, key string) []string {
	t.Helper()
	dir := filepath.Join(s.outDir, "asset."+strings.TrimSuffix(key, ".zip"))
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatalf("list staged asset: %v", err)
	}
	slices.Sort(files)
	return files
}

// readAsset reads file from the zip asset key (a staged directory in the
// cloud assembly: asset.<hash>).
func readAsset(t *testing.T, s *synthesized, key, file string) string {
	t.Helper()
	hash := strings.TrimSuffix(key, ".zip")
	raw, err := os.ReadFile(filepath.Join(s.outDir, "asset."+hash, file))
	if err != nil {
		t.Fatalf("read staged asset: %v", err)
	}
	return string(raw)
}

// TestConsoleDeploymentHandler pins what CDK's BucketDeployment Lambda may
// do, since its wildcards are suppressed: S3 on the asset and console
// buckets, and invalidations.
func TestConsoleDeploymentHandler(t *testing.T) {
	s := fixture(t, "dev")
	for id, stmts := range iamStatements(s) {
		if !strings.HasPrefix(id, bucketDeploymentHandler) {
			continue
		}
		for _, st := range stmts {
			for _, a := range strs(st["Action"]) {
				switch {
				case a == "sts:AssumeRole":
				case strings.HasPrefix(a, "s3:"):
				case a == "cloudfront:CreateInvalidation" || a == "cloudfront:GetInvalidation":
				default:
					t.Errorf("%s: BucketDeployment handler may %s", id, a)
				}
			}
		}
	}
}

func TestNewNamesMissingConsole(t *testing.T) {
	build := t.TempDir()
	for _, name := range LambdaNames {
		os.MkdirAll(filepath.Join(build, name), 0o755)
		os.WriteFile(filepath.Join(build, name, "bootstrap"), []byte("x"), 0o755)
	}
	_, err := New(nil, "Keygate-test", Props{Settings: DefaultSettings(), BuildDir: build, ConsoleDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "make console") || !strings.Contains(err.Error(), "index.html") {
		t.Fatalf("err = %v", err)
	}
}

// localConsoleCSP is the policy local/webapp serves, read from its source
// with connect-src's list cut out; empty if that code is not there.
func localConsoleCSP(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("../../local/webapp/console.go")
	if err != nil {
		return ""
	}
	m := regexp.MustCompile(`csp := ("[^"]*") \+\s*("[^"]*") \+ strings\.Join\(connect, " "\) \+ ("[^"]*")`).FindStringSubmatch(string(src))
	if m == nil {
		t.Errorf("local/webapp/console.go: its CSP is no longer spelled as this test expects; compare it with ContentSecurityPolicy by hand")
		return ""
	}
	var parts [3]string
	for i := range parts {
		if err := json.Unmarshal([]byte(m[i+1]), &parts[i]); err != nil {
			t.Fatal(err)
		}
	}
	return parts[0] + parts[1] + parts[2]
}
