package stack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"

	"github.com/keygate/keygate/examples/reports"
	"github.com/keygate/keygate/route"
)

// operationsFile is what the e2e suite (../../e2e) recorded: every AWS call
// each Lambda's code made across the whole suite, attributed to the function
// by the local gateway. The e2e tests fail when the code makes a call the
// file lacks, so a call missing here is a call no test makes.
const operationsFile = "testdata/operations.json"

// Operations are function → resource → IAM actions. Resources: "table" and
// "index/<name>" (DynamoDB); a service a function starts calling gets its
// resource names in internal/testenv (resourceOf) and here (grantResource).
type Operations map[string]map[string][]string

func loadOperations(t *testing.T) Operations {
	t.Helper()
	raw, err := os.ReadFile(operationsFile)
	if err != nil {
		t.Fatalf("read %s (written by KEYGATE_UPDATE_OPERATIONS=1 go test ./e2e/): %v", operationsFile, err)
	}
	var f struct {
		About     string     `json:"about"`
		Functions Operations `json:"functions"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("read %s: %v", operationsFile, err)
	}
	if len(f.Functions) == 0 {
		t.Fatalf("%s records no function at all", operationsFile)
	}
	return f.Functions
}

// unexercisedGrants are grants no e2e test makes the function use, each kept
// on purpose, by "function action resource", with the reason. Anything else
// a role grants beyond the recording fails TestGrantsMatchBehaviour: remove
// the grant, add a test that makes the call, or justify it here. An entry
// that no longer matches an unexercised grant fails too.
var unexercisedGrants = map[string]string{
	// DynamoDB Streams are read by Lambda's poller for the event source
	// mapping, on the function's role, never by its code (audit.go).
	"auditpublish dynamodb:DescribeStream stream":   "the event source mapping's poller reads the table's stream with the function's role",
	"auditpublish dynamodb:GetRecords stream":       "the event source mapping's poller reads the table's stream with the function's role",
	"auditpublish dynamodb:GetShardIterator stream": "the event source mapping's poller reads the table's stream with the function's role",
	"auditpublish dynamodb:ListStreams *":           "the event source mapping's poller lists the stream; ListStreams has no resource-level permissions",
	// A run withdraws its key.expiring intent only when another run marked
	// the key between its read and its mark: a race no test can stage.
	"keyexpiring dynamodb:DeleteItem table": "Pending.Abort when a concurrent run noticed the key first",
	// The secret scanning route withdraws its key.leaked intent only when the
	// key was revoked between its read and its revocation.
	"secretscan dynamodb:DeleteItem table": "Pending.Abort when a report races a revocation of the same key",
	// A revocation withdraws its intent only when the key was revoked by
	// another request between its read and its write.
	"revokekey dynamodb:DeleteItem table":   "Pending.Abort when two revocations of one key race",
	"wsrevokekey dynamodb:DeleteItem table": "Pending.Abort when two revocations of one key race",
	// A workspace create withdraws its intent when its key write fails
	// outright (the personal create's refusal is exercised: a full cap).
	"wscreatekey dynamodb:DeleteItem table": "Pending.Abort when the key write fails after the intent",
}

// roleGrants are the AWS actions a function's role allows by resource name,
// leaving out the role's plumbing: writing its own log group (its resource is
// checked in TestLeastPrivilege) and X-Ray's two tracing actions.
func (s *synthesized) roleGrants(t *testing.T, fn awslambda.IFunction) map[string][]string {
	t.Helper()
	all := s.json["Resources"].(map[string]any)
	fnID := idOf(s.k.Stack, fn.Node().DefaultChild())
	roleID := props(all[fnID].(map[string]any))["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
	out := map[string][]string{}
	for _, pol := range s.resources("AWS::IAM::Policy") {
		if !refersTo(props(pol)["Roles"], roleID) {
			continue
		}
		for _, st := range asSlice(props(pol)["PolicyDocument"].(map[string]any)["Statement"]) {
			st := st.(map[string]any)
			if st["Effect"] != "Allow" {
				continue
			}
			for _, a := range strs(st["Action"]) {
				switch a {
				case "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords":
					continue
				}
				resources := asSlice(st["Resource"])
				if resources == nil {
					resources = []any{st["Resource"]}
				}
				for _, r := range resources {
					name, err := s.grantResource(r)
					if err != nil {
						t.Errorf("%s on %v: %v", a, r, err)
						continue
					}
					if !slices.Contains(out[name], a) {
						out[name] = append(out[name], a)
					}
				}
			}
		}
	}
	for _, actions := range out {
		slices.Sort(actions)
	}
	return out
}

// grantResource names a policy statement's resource as the recording does.
func (s *synthesized) grantResource(r any) (string, error) {
	tableID := idOf(s.k.Stack, s.k.Table.Node().DefaultChild())
	b, _ := json.Marshal(r)
	switch {
	case s.k.Audit != nil && refersTo(r, idOf(s.k.Stack, s.k.Audit.Bus.Node().DefaultChild())):
		return "bus", nil // audit.go's event bus (internal/testenv names EventBridge calls so)
	case refersTo(r, tableID) && strings.Contains(string(b), "StreamArn"):
		return "stream", nil // read by Lambda's poller, never by the code
	case r == "*":
		return "*", nil
	}
	if !refersTo(r, tableID) {
		b, _ := json.Marshal(r)
		return "", fmt.Errorf("a resource the recording has no name for (%s): name it in grantResource and internal/testenv's resourceOf", b)
	}
	if _, index, ok := strings.Cut(string(b), "/index/"); ok {
		return "index/" + strings.TrimRight(index, `"]}`), nil
	}
	return "table", nil
}

// operationsOf flattens one function's grants or recording to sorted
// "action resource" strings.
func operationsOf(byResource map[string][]string) []string {
	var out []string
	for r, actions := range byResource {
		for _, a := range actions {
			out = append(out, a+" "+r)
		}
	}
	slices.Sort(out)
	return out
}

// compareGrants checks one function both ways: every recorded call is
// granted, and every grant is recorded or justified in unexercisedGrants.
// It returns the justifications it used.
func compareGrants(t *testing.T, function string, granted, recorded []string) (used []string) {
	t.Helper()
	for _, op := range recorded {
		if !slices.Contains(granted, op) {
			t.Errorf("%s: the code calls %s (recorded by the e2e suite) but the role does not grant it: deployed, that call is AccessDenied", function, op)
		}
	}
	for _, op := range granted {
		if slices.Contains(recorded, op) {
			continue
		}
		key := function + " " + op
		if _, ok := unexercisedGrants[key]; ok {
			used = append(used, key)
			continue
		}
		t.Errorf("%s: the role grants %s, which no e2e test makes it call: remove the grant, add a test that makes the call, or justify it in unexercisedGrants", function, op)
	}
	return used
}

// TestGrantsMatchBehaviour: each Lambda's role grants exactly the AWS calls
// its code made in the e2e suite (the committed recording), both ways, for
// every function of the stack and every function the recording names: a
// product's function, added to a product's API by the construct's AddRoute,
// gets exactly the meter's actions.
func TestGrantsMatchBehaviour(t *testing.T) {
	ops := loadOperations(t)
	s := fixture(t, "dev")
	used := map[string]bool{}

	for _, name := range slices.Sorted(maps.Keys(s.k.Functions)) {
		t.Run(name, func(t *testing.T) {
			for _, key := range compareGrants(t, name, operationsOf(s.roleGrants(t, s.k.Functions[name])), operationsOf(ops[name])) {
				used[key] = true
			}
		})
	}

	// A recorded function this stack does not deploy must be a product's,
	// deployed by the construct (the product fixture: the example's routes
	// added with AddRoute): its role grants exactly the recorded calls,
	// which are the meter's.
	product := productFixture(t)
	for _, name := range slices.Sorted(maps.Keys(ops)) {
		if _, deployed := s.k.Functions[name]; deployed {
			continue
		}
		t.Run(name, func(t *testing.T) {
			if !slices.ContainsFunc(reports.Routes, func(rt route.Route) bool { return rt.Function == name }) {
				t.Fatalf("the e2e suite recorded calls of %s, which is neither a Lambda of this stack nor a product function (examples/reports)", name)
			}
			granted := operationsOf(product.roleGrants(t, product.productFn(t, name)))
			for _, key := range compareGrants(t, name, granted, operationsOf(ops[name])) {
				used[key] = true
			}
			if meter := operationsOf(map[string][]string{"table": meterOps}); !slices.Equal(granted, meter) {
				t.Errorf("%s: the construct grants %v, want the meter's actions %v", name, granted, meter)
			}
		})
	}

	for key := range unexercisedGrants {
		if !used[key] {
			t.Errorf("unexercisedGrants justifies %q, which is no longer an unexercised grant: delete the entry", key)
		}
	}
}
