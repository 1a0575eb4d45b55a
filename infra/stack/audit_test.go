package stack

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// TestAuditTable: the sparse byDue index and the stream the publisher reads.
func TestAuditTable(t *testing.T) {
	dev := fixture(t, "dev")
	check(t, "byDue index and NEW_IMAGE stream", func() {
		dev.tmpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"StreamSpecification":     map[string]any{"StreamViewType": "NEW_IMAGE"},
			"TimeToLiveSpecification": map[string]any{"AttributeName": "expiresAt", "Enabled": true},
			"GlobalSecondaryIndexes": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"IndexName": "byOwner"}),
				map[string]any{
					"IndexName": "byDue",
					"KeySchema": []any{
						map[string]any{"AttributeName": "gsi2pk", "KeyType": "HASH"},
						map[string]any{"AttributeName": "gsi2sk", "KeyType": "RANGE"},
					},
					"Projection": map[string]any{"ProjectionType": "INCLUDE", "NonKeyAttributes": toAny(DueAttributes)},
				},
			}),
		})
	})
}

// TestAuditEvents: the bus, the publisher on the stream with its filter, the
// schedules, and the example rule only with an alarm topic.
func TestAuditEvents(t *testing.T) {
	dev := fixture(t, "dev")
	check(t, "one event bus", func() { dev.tmpl.ResourceCountIs(jsii.String("AWS::Events::EventBus"), jsii.Number(1)) })
	pubID := idOf(dev.k.Stack, dev.k.Functions["auditpublish"].Node().DefaultChild())
	check(t, "the publisher reads the stream, filtered to final audit records, retrying refused ones", func() {
		dev.tmpl.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{
			"FunctionName":               map[string]any{"Ref": pubID},
			"StartingPosition":           "TRIM_HORIZON",
			"FunctionResponseTypes":      []any{"ReportBatchItemFailures"},
			"BisectBatchOnFunctionError": true,
			"FilterCriteria":             map[string]any{"Filters": []any{map[string]any{"Pattern": AuditStreamFilter}}},
		})
	})
	for _, c := range []struct{ fn, schedule string }{
		{"auditsweep", "rate(5 minutes)"},
		{"keyexpiring", "cron(0 8 * * ? *)"},
	} {
		fnID := idOf(dev.k.Stack, dev.k.Functions[c.fn].Node().DefaultChild())
		check(t, c.fn+" on "+c.schedule, func() {
			dev.tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
				"ScheduleExpression": c.schedule,
				"State":              "ENABLED",
				"Targets": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
					"Arn": map[string]any{"Fn::GetAtt": []any{fnID, "Arn"}},
				})}),
			})
		})
	}
	if dev.k.Audit.LeakedRule != nil {
		t.Error("a key.leaked rule without an alarm topic")
	}

	prod := fixture(t, "prod") // has alarmTopicArn
	busID := idOf(prod.k.Stack, prod.k.Audit.Bus.Node().DefaultChild())
	check(t, "prod: key.leaked on the audit bus goes to the alarm topic", func() {
		prod.tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"EventBusName": map[string]any{"Ref": busID},
			"EventPattern": map[string]any{"source": []any{"keygate"}, "detail-type": []any{"key.leaked"}},
			"Targets": []any{assertions.Match_ObjectLike(&map[string]any{
				"Arn":              prodOverrides[CtxAlarmTopicArn],
				"InputTransformer": assertions.Match_ObjectLike(&map[string]any{}),
			})},
		})
	})
}

// TestAuditTableMatchesServiceCode: the index's names and projection, and the
// stream filter, are shared/dynamo's.
func TestAuditTableMatchesServiceCode(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, "../../shared/dynamo", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil || pkgs["dynamo"] == nil {
		t.Skipf("service code not readable: %v", err)
	}
	consts := map[string]string{}
	var due []string
	for _, f := range pkgs["dynamo"].Files {
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					consts[name.Name], _ = strconv.Unquote(lit.Value)
				}
				if cl, ok := vs.Values[i].(*ast.CompositeLit); ok && name.Name == "DueAttributes" {
					for _, e := range cl.Elts {
						if id, ok := e.(*ast.Ident); ok {
							due = append(due, id.Name)
						}
					}
				}
			}
			return true
		})
	}
	for i := range due {
		due[i] = consts[due[i]]
	}
	if !slices.Equal(due, DueAttributes) {
		t.Errorf("byDue projection differs from shared/dynamo's:\n infra %v\n dynamo %v", DueAttributes, due)
	}
	for name, want := range map[string]string{"AttrGSI2PK": AttrGSI2PK, "AttrGSI2SK": AttrGSI2SK, "IndexByDue": IndexByDue} {
		if consts[name] != want {
			t.Errorf("shared/dynamo.%s = %q, infra has %q", name, consts[name], want)
		}
	}
	// StreamFilterPattern is built from constants: compare the pieces.
	for _, piece := range []string{`"prefix":"` + consts["auditPrefix"] + `"`, `"state":{"S":["final"]}`, `"eventName":["INSERT","MODIFY"]`} {
		if !strings.Contains(AuditStreamFilter, piece) {
			t.Errorf("AuditStreamFilter %s lacks %s", AuditStreamFilter, piece)
		}
	}
}
