// Package jobs holds the handlers of keygate's Lambdas that no route
// invokes: the audit event publisher (DynamoDB Streams), the audit sweep
// (every few minutes) and the key.expiring notices (daily). Like the route
// handlers, each is a thin adapter from its event to one call.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keygate/keygate/shared/app"
	"github.com/keygate/keygate/shared/audit"
	"github.com/keygate/keygate/shared/auditbus"
	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/dynamo"
	"github.com/keygate/keygate/shared/keys"
)

// Names of the job Lambdas (functions/<name>), as infra deploys them.
const (
	Publish  = "auditpublish"
	Sweep    = "auditsweep"
	Expiring = "keyexpiring"
)

// PublishHandler puts the final audit records of a batch of stream records
// on the event bus, in order. Records EventBridge refused are reported as
// batch item failures, so Lambda retries the batch from the first of them
// (events are delivered at least once; detail.id tells a repeat).
func PublishHandler(pub *auditbus.Publisher, log *slog.Logger) func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	return func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		var recs []audit.Record
		var seqs []string
		for _, r := range ev.Records {
			rec, ok, err := dynamo.AuditFromStream(r)
			if err != nil {
				// A record that does not decode never will: log it, move on.
				log.ErrorContext(ctx, "audit stream record not published", "sequence", r.Change.SequenceNumber, "error", err)
				continue
			}
			if ok {
				recs, seqs = append(recs, rec), append(seqs, r.Change.SequenceNumber)
			}
		}
		var out events.DynamoDBEventResponse
		if len(recs) == 0 {
			return out, nil
		}
		failed, err := pub.Publish(ctx, recs)
		for _, i := range failed {
			out.BatchItemFailures = append(out.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: seqs[i]})
		}
		if err != nil {
			log.WarnContext(ctx, "audit events not published; the batch is retried from the first", "failed", len(failed), "error", err)
		}
		log.InfoContext(ctx, "audit events published", "records", len(recs), "failed", len(failed))
		return out, nil
	}
}

// SweepHandler resolves the audit intents that are due.
func SweepHandler(l *audit.Log, log *slog.Logger) func(context.Context) (audit.SweepResult, error) {
	return func(ctx context.Context) (audit.SweepResult, error) {
		res, err := l.Sweep(ctx)
		log.InfoContext(ctx, "audit sweep", "finalized", res.Finalized, "dropped", res.Dropped, "failed", res.Failed)
		return res, err
	}
}

// ExpiringHandler sends the day's key.expiring notices.
func ExpiringHandler(n *keys.ExpiryNotices, log *slog.Logger) func(context.Context) (keys.ExpiryRun, error) {
	return func(ctx context.Context) (keys.ExpiryRun, error) {
		res, err := n.Run(ctx)
		log.InfoContext(ctx, "key.expiring notices", "candidates", res.Candidates, "noticed", res.Noticed, "failed", res.Failed)
		return res, err
	}
}

// Main is the whole main of a job's Lambda: the configuration once (the
// table's settings; no issuer), the App, the handler.
func Main(name string) {
	fail := func(err error) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	ctx := context.Background()
	cfg, err := config.LoadStoreFrom(os.Getenv)
	if err != nil {
		fail(err)
	}
	log := app.LambdaLogger()
	a, err := app.New(ctx, cfg, log, nil)
	if err != nil {
		fail(err)
	}
	switch name {
	case Publish:
		pub, err := a.Publisher(ctx)
		if err != nil {
			fail(err)
		}
		lambda.Start(PublishHandler(pub, log))
	case Sweep:
		lambda.Start(SweepHandler(a.Audit, log))
	case Expiring:
		lambda.Start(ExpiringHandler(a.Expiry, log))
	default:
		fail(fmt.Errorf("no job %q", name))
	}
}
