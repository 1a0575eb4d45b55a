package pretoken_test

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keygate/keygate/shared/cognito/pretoken"
)

// invoke runs the trigger the way the Lambda runtime does: the event's JSON in,
// the answer's JSON out, through aws-lambda-go's own handler reflection.
func invoke(t *testing.T, file string) map[string]any {
	t.Helper()
	payload, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out, err := lambda.NewHandler(pretoken.Handle).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, out)
	}
	return m
}

func path(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func TestHandle(t *testing.T) {
	details := []string{"response", "claimsAndScopeOverrideDetails"}
	tests := []struct {
		name       string
		file       string
		wantAccess map[string]any
		wantGroups []any
	}{
		{
			name:       "pro team member gets tier and teamId in the access token",
			file:       "testdata/v2-authentication-pro.json",
			wantAccess: map[string]any{"custom:tier": "pro", "custom:teamId": "team-42"},
			wantGroups: []any{"beta-testers"},
		},
		{
			name:       "user without the attributes gets no claims (free), on refresh too",
			file:       "testdata/v2-refresh-free.json",
			wantAccess: nil,
			wantGroups: []any{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := invoke(t, tt.file)
			got, _ := path(m, append(details, "accessTokenGeneration", "claimsToAddOrOverride")...).(map[string]any)
			if tt.wantAccess == nil && len(got) != 0 || tt.wantAccess != nil && !reflect.DeepEqual(got, tt.wantAccess) {
				t.Errorf("access token claims = %v, want %v", got, tt.wantAccess)
			}
			if id := path(m, append(details, "idTokenGeneration", "claimsToAddOrOverride")...); id != nil {
				t.Errorf("ID token claims changed: %v", id)
			}
			if s := path(m, append(details, "idTokenGeneration", "claimsToSuppress")...); s != nil {
				t.Errorf("ID token claims suppressed: %v", s)
			}
			for _, k := range []string{"claimsToSuppress", "scopesToAdd", "scopesToSuppress"} {
				if v := path(m, append(details, "accessTokenGeneration", k)...); v != nil {
					t.Errorf("access token %s = %v, want none", k, v)
				}
			}
			if g := path(m, append(details, "groupOverrideDetails", "groupsToOverride")...); !reflect.DeepEqual(g, tt.wantGroups) {
				t.Errorf("groups = %v, want them as sent, %v", g, tt.wantGroups)
			}
			// The rest of the event goes back as it came.
			if path(m, "version") != "2" || path(m, "userPoolId") != "eu-west-1_AbCdEf123" || path(m, "request", "userAttributes", "sub") == nil {
				t.Errorf("event header or request not handed back: %v", m)
			}
		})
	}
}

func TestHandleLeavesEmptyAttributesOut(t *testing.T) {
	payload := []byte(`{"version":"2","triggerSource":"TokenGeneration_Authentication",
		"request":{"userAttributes":{"sub":"u1","custom:tier":"","custom:teamId":"t1"},
		"groupConfiguration":{"groupsToOverride":[],"iamRolesToOverride":[],"preferredRole":null}},
		"response":{"claimsAndScopeOverrideDetails":null}}`)
	out, err := lambda.NewHandler(pretoken.Handle).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	got := path(m, "response", "claimsAndScopeOverrideDetails", "accessTokenGeneration", "claimsToAddOrOverride")
	if !reflect.DeepEqual(got, map[string]any{"custom:teamId": "t1"}) {
		t.Errorf("claims = %v, want only custom:teamId", got)
	}
}
