package stack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"
)

// TestPreTokenGeneration: the pool this stack creates calls pretokengen on the
// V2 event (access-token customization); an existing pool may call it.
func TestPreTokenGeneration(t *testing.T) {
	dev := fixture(t, "dev")
	fnID := idOf(dev.k.Stack, dev.k.Functions["pretokengen"].Node().DefaultChild())
	poolID := idOf(dev.k.Stack, dev.k.UserPool.Node().DefaultChild())
	pool := props(dev.json["Resources"].(map[string]any)[poolID].(map[string]any))
	cfg, _ := pool["LambdaConfig"].(map[string]any)["PreTokenGenerationConfig"].(map[string]any)
	if cfg["LambdaVersion"] != "V2_0" || !refersTo(cfg["LambdaArn"], fnID) {
		t.Errorf("PreTokenGenerationConfig %v, want pretokengen on V2_0", cfg)
	}
	if pool["UserPoolTier"] != "ESSENTIALS" {
		t.Errorf("feature plan %v: the V2 event needs Essentials or Plus", pool["UserPoolTier"])
	}
	if len(pool["LambdaConfig"].(map[string]any)) != 1 {
		t.Errorf("LambdaConfig %v, want only the pre-token-generation trigger", pool["LambdaConfig"])
	}

	for _, c := range []struct {
		config, sourceArn string
	}{
		{"dev", `{"Fn::GetAtt":["` + poolID + `","Arn"]}`},
		{"prod", `":cognito-idp:eu-west-1:",{"Ref":"AWS::AccountId"},":userpool/eu-west-1_AbCdEf123"`},
	} {
		s := fixture(t, c.config)
		fnID := idOf(s.k.Stack, s.k.Functions["pretokengen"].Node().DefaultChild())
		found := 0
		for id, perm := range s.resources("AWS::Lambda::Permission") {
			p := props(perm)
			if p["Principal"] != "cognito-idp.amazonaws.com" {
				continue
			}
			found++
			src, _ := json.Marshal(p["SourceArn"])
			if !refersTo(p["FunctionName"], fnID) || !strings.Contains(string(src), c.sourceArn) || p["Action"] != "lambda:InvokeFunction" {
				t.Errorf("%s: permission %s lets %s invoke %v, want the pool invoking pretokengen", c.config, id, src, p["FunctionName"])
			}
		}
		if found != 1 {
			t.Errorf("%s: %d Cognito invoke permissions, want 1", c.config, found)
		}
	}
	check(t, "the existing pool's owner gets the function's ARN", func() {
		fixture(t, "prod").tmpl.HasOutput(jsii.String("PreTokenGenerationFunctionArn"), map[string]any{
			"Value": map[string]any{"Fn::GetAtt": []any{idOf(fixture(t, "prod").k.Stack, fixture(t, "prod").k.Functions["pretokengen"].Node().DefaultChild()), "Arn"}},
		})
	})
}
