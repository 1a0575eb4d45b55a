// Package dynamo is keygate's DynamoDB store (aws-sdk-go-v2). One table holds
// five kinds of item, all addressed without a scan:
//
//	pk=KEY#<prefix>          sk=META        the key: hash, id, owner, name, status, times, rotation links
//	                                        (or a void item: a rotation's successor that never came, VoidPrefix)
//	pk=KEYID#<uuid>          sk=META        the key id's prefix (the workspace API names keys by id)
//	pk=BUDGET#<id>           sk=STATE       a key lineage's limit, today's counter, per-key validity and last use
//	pk=BUDGET#<id>           sk=DAY#<date>  an archived day's count, TTL expiresAt (90 days)
//	pk=OWNER#<kind>#<id>     sk=META        a user's or workspace's slot counter and billing tier
//
// The byOwner index (gsi1pk=OWNER#<kind>#<id>, gsi1sk=<createdAt>#<seq>#<prefix>)
// lists an owner's keys newest first and projects everything but the hash.
// The audit log adds pk=AUDIT#<kind>#<id> partitions (audit.go), and the
// sparse byDue index (gsi2pk, gsi2sk) holds keys by expiry day and pending
// audit intents (notices.go).
// Nothing here needs transactions or UpdateTimeToLive, so it runs on dynalite
// as well. Every call has a deadline (Store.Timeout), and the calls of one
// request share one budget (shared/deadline): a stalled store is a 503 within
// one deadline, never a hang.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/deadline"
)

// Attribute and index names. infra/ declares the same table.
const (
	AttrPK        = "pk"
	AttrSK        = "sk"
	AttrGSI1PK    = "gsi1pk"
	AttrGSI1SK    = "gsi1sk"
	AttrExpiresAt = "expiresAt" // the TTL attribute of counter items
	IndexByOwner  = "byOwner"
)

// DefaultTimeout is the deadline of one store call when none is configured.
const DefaultTimeout = 2 * time.Second

// Store implements keys.Store and metering.Counter on one table.
type Store struct {
	DB    *dynamodb.Client
	Table string
	// Timeout bounds each call, retries included; it must stay below the
	// calling Lambda's timeout. The calls of one request marked with
	// deadline.Share end, together, at most Timeout plus deadline.Margin
	// after the first of them began.
	Timeout time.Duration
}

// New returns a store on table through db.
func New(db *dynamodb.Client, table string) *Store {
	return &Store{DB: db, Table: table, Timeout: DefaultTimeout}
}

// call gives one store call its deadline: Timeout, within what is left of
// the request's shared store budget when ctx carries one (deadline.Share).
func (st *Store) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return deadline.Call(ctx, st.Timeout)
}

// NewClient builds a DynamoDB client once per process. A non-empty endpoint
// (local mode, tests) gets placeholder credentials when none are configured.
// opts adjust the client (tests count calls or inject failures with them).
func NewClient(ctx context.Context, endpoint string, opts ...func(*dynamodb.Options)) (*dynamodb.Client, error) {
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		// Lambda runs one request at a time, but local mode and benchmarks
		// share one client across many goroutines.
		t.MaxIdleConns = 512
		t.MaxIdleConnsPerHost = 512
	})
	load := []func(*awsconfig.LoadOptions) error{awsconfig.WithHTTPClient(httpClient)}
	if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		load = append(load, awsconfig.WithRegion("us-east-1"))
	}
	if endpoint != "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		load = append(load, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return dynamodb.NewFromConfig(cfg, append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}}, opts...)...), nil
}

// CreateTable creates the table as infra/ deploys it (less TTL, which the
// infra sets and dynalite lacks). Local mode and tests use it.
func (s *Store) CreateTable(ctx context.Context) error {
	str := types.ScalarAttributeTypeS
	_, err := s.DB.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(s.Table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(AttrPK), AttributeType: str},
			{AttributeName: aws.String(AttrSK), AttributeType: str},
			{AttributeName: aws.String(AttrGSI1PK), AttributeType: str},
			{AttributeName: aws.String(AttrGSI1SK), AttributeType: str},
			{AttributeName: aws.String(AttrGSI2PK), AttributeType: str},
			{AttributeName: aws.String(AttrGSI2SK), AttributeType: str},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(AttrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(AttrSK), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(IndexByOwner),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(AttrGSI1PK), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(AttrGSI1SK), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{
				ProjectionType:   types.ProjectionTypeInclude,
				NonKeyAttributes: ListedAttributes,
			},
		}, {
			// Sparse: keys that expire, and audit intents (notices.go).
			IndexName: aws.String(IndexByDue),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(AttrGSI2PK), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(AttrGSI2SK), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{
				ProjectionType:   types.ProjectionTypeInclude,
				NonKeyAttributes: DueAttributes,
			},
		}},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", s.Table, err)
	}
	// A table answers ResourceNotFound until it is ACTIVE, even on dynalite.
	w := dynamodb.NewTableExistsWaiter(s.DB, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 500*time.Millisecond
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.Table)}, time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", s.Table, err)
	}
	return nil
}

// ListedAttributes are what the byOwner index projects: everything a listing
// shows, never the hash.
var ListedAttributes = []string{
	attrPrefix, attrID, attrOwnerKind, attrOwner, attrCreatedBy, attrBudget, attrTier, attrTeamID, attrName, attrDailyLimit,
	attrStatus, attrCreatedAt, attrUpdatedAt, attrExpiresAt, attrRevokedAt, attrRevokedReason, attrLeakURL,
	attrLeakedAt, attrRotatedFrom, attrRotatedFromID, attrRotatedTo, attrRotatedToID, attrLastUsedAt,
	attrScopes, attrAllowedIPs, attrCreatorEmail,
}

// storeErr classifies an SDK error: throttling, server faults and transport
// failures (after the SDK's retries) are 503; anything else is a bug, 500.
func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("%s: %w", op, err)
	var api smithy.APIError
	if !errors.As(err, &api) {
		return apierr.Unavailable(err)
	}
	if api.ErrorFault() == smithy.FaultServer {
		return apierr.Unavailable(err)
	}
	switch api.ErrorCode() {
	case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
		"LimitExceededException", "InternalServerError", "ServiceUnavailable":
		return apierr.Unavailable(err)
	}
	return apierr.Internal(err)
}

func isConditionFailed(err error) bool {
	var cf *types.ConditionalCheckFailedException
	return errors.As(err, &cf)
}

var errNoCount = errors.New("counter update returned no count")
