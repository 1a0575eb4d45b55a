package stack

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
)

// nameScope says how far a resource name must be unique.
type nameScope int

const (
	// accountWide names are unique across every region of the account
	// (CloudFront's policies and origin access controls, CloudWatch
	// dashboards, IAM names, S3 bucket names): they must hold the region
	// and the stage, or the same stage fails to deploy in a second region.
	accountWide nameScope = iota
	// regional names are unique in one region of the account (or not
	// unique at all): the stage keeps two stages apart.
	regional
	// withinParent names are unique under another resource (an API's
	// authorizer, a pool's client, a role's inline policy).
	withinParent
	// reference is not a name but a property naming another resource.
	reference
)

// resourceNames classifies every name property the stack may set, by
// resource type and property path ("Config.Name" for a property inside a
// *Config object). A name property the template sets that is not listed here
// fails TestResourceNames until someone decides its scope.
var resourceNames = map[string]nameScope{
	"AWS::CloudFront::ResponseHeadersPolicy ResponseHeadersPolicyConfig.Name": accountWide,
	"AWS::CloudFront::OriginAccessControl OriginAccessControlConfig.Name":     accountWide,
	"AWS::CloudFront::CachePolicy CachePolicyConfig.Name":                     accountWide,
	"AWS::CloudFront::OriginRequestPolicy OriginRequestPolicyConfig.Name":     accountWide,
	"AWS::CloudFront::Function Name":                                          accountWide,
	"AWS::CloudWatch::Dashboard DashboardName":                                accountWide,
	"AWS::IAM::Role RoleName":                                                 accountWide,
	"AWS::IAM::ManagedPolicy ManagedPolicyName":                               accountWide,
	"AWS::S3::Bucket BucketName":                                              accountWide,
	"AWS::Cognito::UserPoolDomain Domain":                                     accountWide, // and unique across all accounts

	"AWS::CloudWatch::Alarm AlarmName":                  regional,
	"AWS::ApiGateway::RestApi Name":                     regional,
	"AWS::Cognito::UserPool UserPoolName":               regional,
	"AWS::Logs::LogGroup LogGroupName":                  regional,
	"AWS::Lambda::Function FunctionName":                regional,
	"AWS::DynamoDB::Table TableName":                    regional,
	"AWS::Lambda::LayerVersion LayerName":               regional,
	"AWS::SNS::Topic TopicName":                         regional,
	"AWS::Events::EventBus Name":                        regional,
	"AWS::Events::Rule Name":                            regional,
	"AWS::Scheduler::Schedule Name":                     regional,
	"AWS::ApiGateway::Stage StageName":                  withinParent,
	"AWS::ApiGateway::Authorizer Name":                  withinParent,
	"AWS::ApiGateway::RequestValidator Name":            withinParent,
	"AWS::ApiGateway::Method OperationName":             withinParent,
	"AWS::Cognito::UserPoolClient ClientName":           withinParent,
	"AWS::IAM::Policy PolicyName":                       withinParent,
	"AWS::Lambda::Permission FunctionName":              reference,
	"AWS::Lambda::EventSourceMapping FunctionName":      reference, // the audit publisher (audit.go)
	"AWS::Events::Rule EventBusName":                    reference, // the audit bus a rule listens on
	"AWS::CloudWatch::Alarm MetricName":                 reference, // the metric it watches
	"Custom::CDKBucketDeployment DestinationBucketName": reference,
	"Custom::S3AutoDeleteObjects BucketName":            reference,
}

// nameProperties are a resource's name-like properties: top-level ones
// called Name or ending in Name or Domain, and those inside a *Config object.
func nameProperties(p map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range p {
		if k == "Name" || strings.HasSuffix(k, "Name") || k == "Domain" {
			out[k] = v
		}
		if cfg, ok := v.(map[string]any); ok && strings.HasSuffix(k, "Config") {
			for ck, cv := range cfg {
				if ck == "Name" || strings.HasSuffix(ck, "Name") {
					out[k+"."+ck] = cv
				}
			}
		}
	}
	return out
}

// TestResourceNames: every name the template sets is classified; an
// account-wide one holds the stack's region (the deploy-time AWS::Region)
// and its stage, a regional one its stage. So the same stage deploys in two
// regions of one account, and two stages side by side in one region.
func TestResourceNames(t *testing.T) {
	for _, config := range []string{"dev", "prod"} {
		s := fixture(t, config)
		stage := s.k.Settings.Stage
		seen := map[string]bool{}
		for id, r := range s.json["Resources"].(map[string]any) {
			res := r.(map[string]any)
			typ, _ := res["Type"].(string)
			for prop, v := range nameProperties(props(res)) {
				key := typ + " " + prop
				scope, ok := resourceNames[key]
				if !ok {
					t.Errorf("%s: %s sets %s = %v, which resourceNames does not classify: is it unique per account, per region or per parent?", config, id, key, v)
					continue
				}
				seen[key] = true
				text, _ := json.Marshal(v)
				hasRegion := strings.Contains(string(text), `{"Ref":"AWS::Region"}`)
				hasStage := strings.Contains(string(text), stage)
				switch scope {
				case accountWide:
					if !hasRegion || !hasStage {
						t.Errorf("%s: %s %s = %s is unique across the account's regions but does not hold both the region and the stage %q", config, id, key, text, stage)
					}
				case regional:
					if !hasStage {
						t.Errorf("%s: %s %s = %s does not hold the stage %q", config, id, key, text, stage)
					}
				}
			}
		}
		// The account-wide names keygate sets today; a new one is welcome
		// as long as it passes the rule above.
		for _, want := range []string{
			"AWS::CloudFront::ResponseHeadersPolicy ResponseHeadersPolicyConfig.Name",
			"AWS::CloudFront::OriginAccessControl OriginAccessControlConfig.Name",
			"AWS::CloudWatch::Dashboard DashboardName",
		} {
			if !seen[want] {
				t.Errorf("%s: the template sets no %s (named names seen: %v)", config, want, slices.Sorted(maps.Keys(seen)))
			}
		}
	}
}
