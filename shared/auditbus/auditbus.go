// Package auditbus publishes audit records as Amazon EventBridge events:
// source "keygate", detail-type the action (key.updated, key.leaked, ...),
// detail the record as the contract shows it plus whose log it is in. The
// stream publisher Lambda calls it for the records DynamoDB Streams delivers
// (nothing on a request's path waits for it); local mode calls it in-process
// against its local EventBridge sink.
package auditbus

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/keygate/keygate/shared/audit"
)

// Source is every keygate event's source.
const Source = "keygate"

// maxEntries is PutEvents' limit of entries per call.
const maxEntries = 10

// API is the part of the EventBridge client the publisher calls.
type API interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Publisher puts records on one event bus.
type Publisher struct {
	Client API
	// Bus is the event bus name or ARN.
	Bus string
}

// Detail is an event's detail: the record, and the owner whose log holds it
// (so a rule or a SIEM can route a team's events without a lookup).
type Detail struct {
	audit.Record
	Owner audit.Owner `json:"owner"`
}

// Entry is the PutEvents entry of r.
func (p *Publisher) Entry(r audit.Record) (types.PutEventsRequestEntry, error) {
	b, err := json.Marshal(Detail{Record: r, Owner: r.Owner})
	if err != nil {
		return types.PutEventsRequestEntry{}, fmt.Errorf("encode event of audit record %s: %w", r.ID, err)
	}
	return types.PutEventsRequestEntry{
		Source:       aws.String(Source),
		DetailType:   aws.String(string(r.Action)),
		Detail:       aws.String(string(b)),
		EventBusName: aws.String(p.Bus),
		Time:         aws.Time(r.Time),
	}, nil
}

// Publish puts the records on the bus, ten per call. It returns the indexes
// of the records that were not accepted (EventBridge refuses entries one by
// one) with an error saying why; the caller retries those.
func (p *Publisher) Publish(ctx context.Context, recs []audit.Record) ([]int, error) {
	var failed []int
	var firstErr error
	for start := 0; start < len(recs); start += maxEntries {
		chunk := recs[start:min(len(recs), start+maxEntries)]
		entries := make([]types.PutEventsRequestEntry, 0, len(chunk))
		for _, r := range chunk {
			e, err := p.Entry(r)
			if err != nil {
				return nil, err // a record that does not encode is a bug
			}
			entries = append(entries, e)
		}
		out, err := p.Client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			for i := range chunk {
				failed = append(failed, start+i)
			}
			if firstErr == nil {
				firstErr = fmt.Errorf("put events: %w", err)
			}
			continue
		}
		for i, res := range out.Entries {
			if res.ErrorCode != nil && i < len(chunk) {
				failed = append(failed, start+i)
				if firstErr == nil {
					firstErr = fmt.Errorf("put event of audit record %s: %s: %s", chunk[i].ID, aws.ToString(res.ErrorCode), aws.ToString(res.ErrorMessage))
				}
			}
		}
	}
	return failed, firstErr
}

// NewClient builds an EventBridge client once per process; a non-empty
// endpoint (local mode's sink) gets placeholder credentials when none are
// configured.
func NewClient(ctx context.Context, endpoint string) (*eventbridge.Client, error) {
	load := []func(*awsconfig.LoadOptions) error{awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConnsPerHost = 64
	}))}
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
	return eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}
