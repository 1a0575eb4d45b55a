// Package pretoken is keygate's Cognito pre-token-generation trigger (the V2
// event, "access token customization"). Cognito puts custom attributes such as
// custom:tier into ID tokens, but into access tokens only when this trigger adds
// them; browsers send access tokens, and without the tier keygate treats the
// caller as free. The trigger copies custom:tier and custom:teamId from the
// user's attributes into the access token and leaves the ID token as Cognito
// makes it. It needs a pool on the Essentials or Plus feature plan with the
// trigger configured at LambdaVersion V2_0; with a V1_0 event Cognito applies
// nothing of what it answers to access tokens.
package pretoken

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

// Claims copied from the user's attributes into the access token, by the
// exact names the authorizer reads.
var Claims = []string{"custom:tier", "custom:teamId"}

// Handle answers a V2 pre-token-generation event. A claim whose attribute the
// user lacks (or has empty) is not added: a missing tier is free, as in an ID
// token. Groups are handed back as Cognito sent them, so the trigger never
// changes cognito:groups.
func Handle(_ context.Context, ev events.CognitoEventUserPoolsPreTokenGenV2_0) (events.CognitoEventUserPoolsPreTokenGenV2_0, error) {
	var add map[string]any
	for _, name := range Claims {
		if v := ev.Request.UserAttributes[name]; v != "" {
			if add == nil {
				add = make(map[string]any, len(Claims))
			}
			add[name] = v
		}
	}
	details := &ev.Response.ClaimsAndScopeOverrideDetails
	details.AccessTokenGeneration.ClaimsToAddOrOverride = add
	details.GroupOverrideDetails = ev.Request.GroupConfiguration
	return ev, nil
}
