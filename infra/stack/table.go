package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Names shared with shared/dynamo, which declares the same table for local mode
// and tests. They are repeated rather than imported: infra is its own module and
// must build before (and without) the service code.
const (
	AttrPK        = "pk"
	AttrSK        = "sk"
	AttrGSI1PK    = "gsi1pk"
	AttrGSI1SK    = "gsi1sk"
	AttrExpiresAt = "expiresAt" // TTL of the archived day counters
	IndexByOwner  = "byOwner"
)

// ListedAttributes are what the byOwner index projects besides its keys:
// everything a key listing shows, never the key's hash (the same list, in the
// same order, as shared/dynamo.ListedAttributes; TestTableMatchesServiceCode
// compares them). keyExpiresAt is a key's expiry; expiresAt is the TTL of
// counter items. A changed projection cannot be applied to a deployed index
// in place: a stack deployed before it must be replaced.
var ListedAttributes = []string{
	"prefix", "id", "ownerKind", "owner", "createdBy", "budget", "tier", "teamId", "name", "dailyLimit",
	"status", "createdAt", "updatedAt", "keyExpiresAt", "revokedAt", "revokedReason", "leakUrl",
	"leakedAt", "rotatedFrom", "rotatedFromId", "rotatedTo", "rotatedToId", "lastUsedAt",
	"scopes", "allowedIps", "createdByEmail",
}

func newTable(scope constructs.Construct, s Settings) awsdynamodb.Table {
	str := awsdynamodb.AttributeType_STRING
	t := awsdynamodb.NewTable(scope, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(AttrPK), Type: str},
		SortKey:      &awsdynamodb.Attribute{Name: jsii.String(AttrSK), Type: str},
		// On demand: traffic is per-request and spiky, and a conditional
		// UpdateItem per metered request must never be throttled by a
		// provisioned ceiling someone forgot to raise.
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String(AttrExpiresAt),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(s.Production()),
		// New images carry final audit records to the publisher (audit.go).
		Stream:        awsdynamodb.StreamViewType_NEW_IMAGE,
		RemovalPolicy: removalPolicy(s),
	})
	t.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:        jsii.String(IndexByOwner),
		PartitionKey:     &awsdynamodb.Attribute{Name: jsii.String(AttrGSI1PK), Type: str},
		SortKey:          &awsdynamodb.Attribute{Name: jsii.String(AttrGSI1SK), Type: str},
		ProjectionType:   awsdynamodb.ProjectionType_INCLUDE,
		NonKeyAttributes: jsii.Strings(ListedAttributes...),
	})
	addDueIndex(t) // audit.go
	return t
}
