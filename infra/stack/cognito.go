package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Custom attributes keygate reads from ID tokens (custom:tier, custom:teamId).
// Only an administrator (AdminUpdateUserAttributes, or a billing backend with
// IAM credentials) sets them: the app client may read but not write them, or a
// user could upgrade their own tier.
const (
	AttrTier   = "tier"
	AttrTeamID = "teamId"
)

var mfaModes = map[string]awscognito.Mfa{
	"off":      awscognito.Mfa_OFF,
	"optional": awscognito.Mfa_OPTIONAL,
	"required": awscognito.Mfa_REQUIRED,
}

func newUserPool(scope constructs.Construct, s Settings) (awscognito.UserPool, awscognito.UserPoolClient) {
	var second *awscognito.MfaSecondFactor
	if s.MFA != "off" {
		// Authenticator apps only: SMS needs an SNS role and spending limits.
		second = &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)}
	}
	pool := awscognito.NewUserPool(scope, jsii.String("UserPool"), &awscognito.UserPoolProps{
		UserPoolName:      jsii.String("keygate-" + s.Stage),
		SelfSignUpEnabled: jsii.Bool(true),
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		AutoVerify:        &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		StandardAttributes: &awscognito.StandardAttributes{
			Email: &awscognito.StandardAttribute{Required: jsii.Bool(true), Mutable: jsii.Bool(true)},
		},
		// Mutable so tier changes (upgrades, downgrades) apply at the next
		// token; who may write them is the app client's WriteAttributes.
		CustomAttributes: &map[string]awscognito.ICustomAttribute{
			AttrTier:   awscognito.NewStringAttribute(&awscognito.StringAttributeProps{MinLen: jsii.Number(1), MaxLen: jsii.Number(32), Mutable: jsii.Bool(true)}),
			AttrTeamID: awscognito.NewStringAttribute(&awscognito.StringAttributeProps{MinLen: jsii.Number(1), MaxLen: jsii.Number(128), Mutable: jsii.Bool(true)}),
		},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength:            jsii.Number(12),
			RequireLowercase:     jsii.Bool(true),
			RequireUppercase:     jsii.Bool(true),
			RequireDigits:        jsii.Bool(true),
			RequireSymbols:       jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(3)),
		},
		Mfa:                 mfaModes[s.MFA],
		MfaSecondFactor:     second,
		AccountRecovery:     awscognito.AccountRecovery_EMAIL_ONLY,
		SignInCaseSensitive: jsii.Bool(false),
		// Essentials, not Lite: it allows access-token customization with a
		// V2 pre-token-generation trigger (custom:* claims in access tokens).
		FeaturePlan:        awscognito.FeaturePlan_ESSENTIALS,
		DeletionProtection: jsii.Bool(s.Production()),
		RemovalPolicy:      removalPolicy(s),
	})
	if s.MFA != "required" {
		suppress(pool, "COG2",
			"MFA is a setting (context mfa=off|optional|required); the default is optional (TOTP) so operators can create test users and fetch tokens from the CLI. Machine clients use API keys, not passwords. Deploy with -c mfa=required to enforce it.")
	}
	suppress(pool, "COG8",
		"The Plus feature plan (threat protection) is billed per monthly active user; keygate's own controls (hashed keys, immediate revocation, exact daily limits) do not depend on it. Upgrade the pool's plan where adaptive authentication is wanted.")

	// The web app's client (the console): public (no secret), SRP sign-in
	// from the browser with amazon-cognito-identity-js against the Cognito
	// API itself. There is no managed login (hosted UI) and no OAuth flow, so
	// no callback or logout URLs: nothing redirects back to the console.
	// ADMIN_USER_PASSWORD_AUTH needs IAM credentials, never available to a
	// browser; the README uses it to get a test user's tokens from the CLI.
	client := pool.AddClient(jsii.String("WebClient"), &awscognito.UserPoolClientOptions{
		UserPoolClientName:         jsii.String("keygate-web-" + s.Stage),
		GenerateSecret:             jsii.Bool(false),
		AuthFlows:                  &awscognito.AuthFlow{UserSrp: jsii.Bool(true), AdminUserPassword: jsii.Bool(true)},
		DisableOAuth:               jsii.Bool(true), // no hosted UI domain; sign-in is SRP
		PreventUserExistenceErrors: jsii.Bool(true),
		EnableTokenRevocation:      jsii.Bool(true),
		AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
		IdTokenValidity:            awscdk.Duration_Hours(jsii.Number(1)),
		RefreshTokenValidity:       awscdk.Duration_Days(jsii.Number(30)),
		ReadAttributes: awscognito.NewClientAttributes().
			WithStandardAttributes(&awscognito.StandardAttributesMask{Email: jsii.Bool(true), EmailVerified: jsii.Bool(true)}).
			WithCustomAttributes(jsii.String(AttrTier), jsii.String(AttrTeamID)),
		// Listed explicitly: an absent WriteAttributes lets the client write
		// every attribute, custom:tier included.
		WriteAttributes: awscognito.NewClientAttributes().
			WithStandardAttributes(&awscognito.StandardAttributesMask{Email: jsii.Bool(true)}),
	})
	return pool, client
}

// attachPreTokenGeneration makes fn the pool's pre-token-generation trigger on
// the V2 event, the version that can add claims to access tokens (Essentials
// or Plus feature plan; the pool this stack creates is on Essentials). Without
// it an access token carries no custom:tier, and keygate treats its holder as
// free. An existing pool is not ours to change: its owner attaches fn (README,
// "An existing user pool"), and this only lets that pool invoke it.
func attachPreTokenGeneration(scope constructs.Construct, s Settings, pool awscognito.UserPool, fn awslambda.Function) {
	if pool != nil {
		pool.AddTrigger(awscognito.UserPoolOperation_PRE_TOKEN_GENERATION_CONFIG(), fn, awscognito.LambdaVersion_V2_0)
		return
	}
	fn.AddPermission(jsii.String("ExistingPoolInvoke"), &awslambda.Permission{
		Principal: awsiam.NewServicePrincipal(jsii.String("cognito-idp.amazonaws.com"), nil),
		Action:    jsii.String("lambda:InvokeFunction"),
		SourceArn: jsii.String(fmt.Sprintf("arn:%s:cognito-idp:%s:%s:userpool/%s",
			*awscdk.Aws_PARTITION(), s.UserPoolRegion(), *awscdk.Aws_ACCOUNT_ID(), s.UserPoolID)),
		SourceAccount: awscdk.Aws_ACCOUNT_ID(),
	})
}
