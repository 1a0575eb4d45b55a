package browser

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/golang-jwt/jwt/v5"

	"github.com/keygate/keygate/local/cognitolocal"
	"github.com/keygate/keygate/shared/cognito/pretoken"
)

// TestCognitoLocalTokens: what the API makes of the tokens the emulator
// issues, and of an access token shaped exactly like Cognito's with keygate's
// trigger attached.
func TestCognitoLocalTokens(t *testing.T) {
	e := stack(t)
	access, id := signInTokens(t, e, "pro@example.com")
	before := e.stack.Trigger.Invocations()

	t.Run("ID token of a Pro user creates a key", func(t *testing.T) {
		status, _, m := callAPI(t, e, "POST", "/v1/api-keys", id, `{"name":"id token"}`)
		if status != 201 {
			t.Fatalf("%d %v", status, m)
		}
	})
	t.Run("cognito-local's access token has no tier: free, 403 (as Cognito without the trigger)", func(t *testing.T) {
		status, _, m := callAPI(t, e, "POST", "/v1/api-keys", access, `{"name":"access token"}`)
		if status != 403 || !strings.Contains(errMessage(m), "Pro") {
			t.Fatalf("%d %v", status, m)
		}
	})
	t.Run("that free caller may still list keys", func(t *testing.T) {
		if status, _, m := callAPI(t, e, "GET", "/v1/api-keys?status=all", access, ""); status != 200 {
			t.Errorf("%d %v, want 200 (listing is open to any tier)", status, m)
		}
	})
	t.Run("the trigger ran at sign-in", func(t *testing.T) {
		signInTokens(t, e, "pro@example.com")
		if e.stack.Trigger.Invocations() <= before {
			t.Error("cognito-local did not invoke the pre-token-generation trigger")
		}
	})
	t.Run("access token with the trigger's claims creates a key as Pro", func(t *testing.T) {
		tok := withTrigger(t, e, access, "pro@example.com")
		status, _, m := callAPI(t, e, "POST", "/v1/api-keys", tok, `{"name":"access token with the trigger"}`)
		if status != 201 {
			t.Fatalf("%d %v", status, m)
		}
	})
}

// withTrigger is what Cognito issues when keygate's trigger is attached at
// V2_0: the emulator's access token for the user, plus the claims the trigger
// answers for a V2 event built from the user's real attributes, signed with
// the emulator's own key (shipped in its npm package) under its kid, so that
// the API verifies it against the emulator's JWKS like any other token.
func withTrigger(t *testing.T, e *env, access, email string) string {
	t.Helper()
	ctx := context.Background()
	user, err := e.stack.Cognito.Client().AdminGetUser(ctx, &cip.AdminGetUserInput{
		UserPoolId: aws.String(e.stack.Pool.ID), Username: aws.String(email),
	})
	if err != nil {
		t.Fatal(err)
	}
	var ev events.CognitoEventUserPoolsPreTokenGenV2_0
	ev.Version, ev.TriggerSource, ev.Region = "2", "TokenGeneration_Authentication", "local"
	ev.UserPoolID, ev.UserName, ev.CallerContext.ClientID = e.stack.Pool.ID, aws.ToString(user.Username), e.stack.Pool.ClientID
	ev.Request.UserAttributes = map[string]string{}
	for _, a := range user.UserAttributes {
		ev.Request.UserAttributes[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	ev.Request.Scopes = []string{"aws.cognito.signin.user.admin"}
	payload, _ := json.Marshal(ev)
	out, err := lambda.NewHandler(pretoken.Handle).Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	var answer events.CognitoEventUserPoolsPreTokenGenV2_0
	if err := json.Unmarshal(out, &answer); err != nil {
		t.Fatal(err)
	}

	claims := tokenClaims(t, access)
	add := answer.Response.ClaimsAndScopeOverrideDetails.AccessTokenGeneration.ClaimsToAddOrOverride
	if add["custom:tier"] != "pro" {
		t.Fatalf("the trigger answered %v", add)
	}
	for k, v := range add {
		claims[k] = v
	}
	return signCognitoLocal(t, claims)
}

// signCognitoLocal signs claims as cognito-local does: RS256 with its key,
// kid CognitoLocal.
func signCognitoLocal(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "CognitoLocal"
	signed, err := tok.SignedString(cognitoLocalKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// tokenClaims decodes a token's claims without checking it.
func tokenClaims(t *testing.T, tok string) jwt.MapClaims {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// cognitoLocalKey is the private key cognito-local signs every token with.
func cognitoLocalKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	script, err := cognitolocal.Script()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(script)), "keys", "cognitoLocal.private.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Pem string }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(f.Pem))
	if block == nil {
		t.Fatal("no PEM block in cognito-local's key file")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}
