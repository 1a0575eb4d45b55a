package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The audit log's part of the stack (issue 18): the sparse byDue index and
// the table's stream, the event bus with an example rule, the publisher
// Lambda on the stream, and the schedules of the sweep and of the
// key.expiring notices. Names shared with shared/dynamo (TestAuditTableMatchesServiceCode).
const (
	AttrGSI2PK = "gsi2pk"
	AttrGSI2SK = "gsi2sk"
	IndexByDue = "byDue"
	// AuditStreamFilter is the publisher's event filter, the same pattern
	// as shared/dynamo.StreamFilterPattern: only audit items that became
	// final records invoke it (every metered request writes a budget).
	AuditStreamFilter = `{"eventName":["INSERT","MODIFY"],"dynamodb":{"NewImage":{"pk":{"S":[{"prefix":"AUDIT#"}]},"state":{"S":["final"]}}}}`
	// EventSource is the source of every keygate event.
	EventSource = "keygate"

	CtxAuditRetentionDays = "auditRetentionDays"
)

// DueAttributes are what the byDue index projects besides its keys (the same
// list as shared/dynamo.DueAttributes).
var DueAttributes = []string{"keyExpiresAt", "expiryNoticed", "status", "rotatedTo"}

// AuditLambdas are the Lambdas no route invokes: the stream publisher, the
// sweep and the daily key.expiring notices (functions/<name>; mk/infra.mk's
// INFRA_LAMBDAS lists them too).
var AuditLambdas = []string{"auditpublish", "auditsweep", "keyexpiring"}

// Schedules of the audit jobs.
const (
	// auditSweepMinutes: an intent a dead request left is finalized (and
	// its event published) within this much after it is due (2 minutes).
	auditSweepMinutes = 5
	// expiringHourUTC: the daily key.expiring run.
	expiringHourUTC = 8
)

// auditSpecs are the audit Lambdas' specs, merged into lambdaSpecs (their
// calls listed as for the others; dueOps below go to the byDue index).
var auditSpecs = map[string]lambdaSpec{
	// The readers: a Query of the owner's partition, and for an intent a
	// dead request left, the verifier's GetItems and one PutItem or
	// DeleteItem to settle it.
	"auditlog": {id: "AuditLog", description: "keygate GET /v1/audit-log",
		tableOps: metered("dynamodb:Query", "dynamodb:DeleteItem")},
	"wsauditlog": {id: "WorkspaceAuditLog", description: "keygate GET /api/v1/workspaces/{id}/audit-log",
		tableOps: metered("dynamodb:Query", "dynamodb:DeleteItem")},
	// Reads the stream (granted by its event source) and puts events on the
	// bus; it never touches the table.
	"auditpublish": {id: "AuditPublish", description: "keygate audit records (DynamoDB Streams) to EventBridge",
		memoryMB: 256, timeoutSec: 30},
	"auditsweep": {id: "AuditSweep", description: "keygate audit sweep: settles the intents of requests that died after their change",
		memoryMB: 256, timeoutSec: 120, tableOps: []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"}},
	"keyexpiring": {id: "KeyExpiring", description: "keygate daily key.expiring notices",
		memoryMB: 256, timeoutSec: 300,
		tableOps: []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}},
}

// dueOps are the calls on the byDue index, by function.
var dueOps = map[string][]string{
	"auditsweep":  {"dynamodb:Query"},
	"keyexpiring": {"dynamodb:Query"},
}

func init() {
	for name, spec := range auditSpecs {
		lambdaSpecs[name] = spec
	}
}

// addDueIndex adds the sparse byDue index: keys by expiry day (the daily
// key.expiring job) and pending audit intents (the sweep).
func addDueIndex(t awsdynamodb.Table) {
	str := awsdynamodb.AttributeType_STRING
	t.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:        jsii.String(IndexByDue),
		PartitionKey:     &awsdynamodb.Attribute{Name: jsii.String(AttrGSI2PK), Type: str},
		SortKey:          &awsdynamodb.Attribute{Name: jsii.String(AttrGSI2SK), Type: str},
		ProjectionType:   awsdynamodb.ProjectionType_INCLUDE,
		NonKeyAttributes: jsii.Strings(DueAttributes...),
	})
}

// Audit is the stack's audit event plumbing.
type Audit struct {
	Bus awsevents.EventBus
	// LeakedRule sends key.leaked to the alarm topic; nil without one.
	LeakedRule awsevents.Rule
	Sweep      awsevents.Rule
	Expiring   awsevents.Rule
}

func newAudit(scope constructs.Construct, s Settings, table awsdynamodb.Table, fns map[string]awslambda.Function) *Audit {
	a := &Audit{}
	a.Bus = awsevents.NewEventBus(scope, jsii.String("AuditEventBus"), &awsevents.EventBusProps{
		Description: jsii.String(fmt.Sprintf("keygate (%s) audit events: source %s, detail-type the action, detail the record", s.Stage, EventSource)),
	})

	pub := fns["auditpublish"]
	pub.AddEnvironment(jsii.String("KEYGATE_EVENT_BUS"), a.Bus.EventBusName(), nil)
	a.Bus.GrantPutEventsTo(pub, nil)
	pub.AddEventSource(awslambdaeventsources.NewDynamoEventSource(table, &awslambdaeventsources.DynamoEventSourceProps{
		StartingPosition: awslambda.StartingPosition_TRIM_HORIZON,
		BatchSize:        jsii.Number(100),
		// Records are not held back to fill a batch for long.
		MaxBatchingWindow: awscdk.Duration_Seconds(jsii.Number(1)),
		Filters: &[]*map[string]any{
			{"pattern": jsii.String(AuditStreamFilter)},
		},
		// The handler reports the records EventBridge refused; Lambda retries
		// from the first of them, halving a failing batch, for up to a day
		// (the stream's own retention).
		ReportBatchItemFailures: jsii.Bool(true),
		BisectBatchOnError:      jsii.Bool(true),
		RetryAttempts:           jsii.Number(100),
		MaxRecordAge:            awscdk.Duration_Hours(jsii.Number(24)),
	}))
	suppress(pub.Role(), "IAM5",
		"The DynamoDB event source grants dynamodb:ListStreams, which has no resource-level permissions (its resource must be '*'); the stream's own reads (DescribeStream, GetRecords, GetShardIterator) name the table's stream.",
		"Resource::*")

	indexArn := jsii.String(*table.TableArn() + "/index/" + IndexByDue)
	for name, ops := range dueOps {
		fns[name].AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("ByDueIndex"),
			Actions:   jsii.Strings(ops...),
			Resources: &[]*string{indexArn},
		}))
	}

	a.Sweep = awsevents.NewRule(scope, jsii.String("AuditSweepSchedule"), &awsevents.RuleProps{
		Description: jsii.String("keygate: settle audit intents of requests that died after their change"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(auditSweepMinutes))),
		Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fns["auditsweep"], nil)},
	})
	a.Expiring = awsevents.NewRule(scope, jsii.String("KeyExpiringSchedule"), &awsevents.RuleProps{
		Description: jsii.String("keygate: key.expiring for keys 7 days from their expiry, daily"),
		Schedule: awsevents.Schedule_Cron(&awsevents.CronOptions{
			Minute: jsii.String("0"), Hour: jsii.String(fmt.Sprint(expiringHourUTC)),
		}),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fns["keyexpiring"], nil)},
	})

	// The example rule: a leaked key pages whoever gets the alarms. The
	// topic's access policy must let events.amazonaws.com publish (an
	// imported topic's policy is not the stack's to change).
	if s.AlarmTopicArn != "" {
		topic := awssns.Topic_FromTopicArn(scope, jsii.String("LeakedKeyTopic"), jsii.String(s.AlarmTopicArn))
		msg := fmt.Sprintf("keygate (%s): API key %s (%s) was found in public code, reported by GitHub secret scanning. %s",
			s.Stage, *awsevents.EventField_FromPath(jsii.String("$.detail.key.prefix")),
			*awsevents.EventField_FromPath(jsii.String("$.detail.key.name")),
			"Unless the deployment only flags leaks, it is revoked; tell its owner to rotate what used it.")
		a.LeakedRule = awsevents.NewRule(scope, jsii.String("KeyLeakedRule"), &awsevents.RuleProps{
			Description:  jsii.String("keygate: key.leaked to the alarm topic (an example of routing audit events)"),
			EventBus:     a.Bus,
			EventPattern: &awsevents.EventPattern{Source: jsii.Strings(EventSource), DetailType: jsii.Strings("key.leaked")},
			Targets: &[]awsevents.IRuleTarget{awseventstargets.NewSnsTopic(topic, &awseventstargets.SnsTopicProps{
				Message: awsevents.RuleTargetInput_FromText(jsii.String(msg)),
			})},
		})
	}
	awscdk.NewCfnOutput(scope, jsii.String("AuditEventBusName"), &awscdk.CfnOutputProps{
		Value:       a.Bus.EventBusName(),
		Description: jsii.String("EventBridge bus of keygate's audit events (source keygate, detail-type the action); add rules here"),
	})
	return a
}
