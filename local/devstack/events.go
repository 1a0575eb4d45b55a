package devstack

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/keygate/keygate/functions/jobs"
	"github.com/keygate/keygate/local/eventsink"
	"github.com/keygate/keygate/local/gateway"
	"github.com/keygate/keygate/shared/audit"
	"github.com/keygate/keygate/shared/config"
)

// DefaultEventBus is local mode's event bus name (any name reaches the sink).
const DefaultEventBus = "keygate-local"

// startEvents starts local mode's EventBridge stand-in when
// KEYGATE_EVENTBRIDGE_ENDPOINT names none, and points the settings at it.
func (s *Stack) startEvents(getenv func(string) string, env map[string]string, now func() time.Time) error {
	if getenv(config.EnvEventBus) == "" {
		env[config.EnvEventBus] = DefaultEventBus
	}
	if getenv(config.EnvEventBridgeURL) != "" {
		return nil
	}
	s.Events = &eventsink.Sink{Out: os.Stdout, Now: now}
	u, err := s.servers.Listen("127.0.0.1:0", s.Events)
	if err != nil {
		return err
	}
	env[config.EnvEventBridgeURL] = u
	return nil
}

// publishInProcess has the audit log publish each record it finalizes with
// the publisher Lambda's own code: dynalite has no DynamoDB Streams, which
// carry them to that Lambda when deployed.
func (s *Stack) publishInProcess(ctx context.Context) error {
	pub, err := s.App.Publisher(ctx)
	if err != nil {
		return err
	}
	log := s.App.Log
	s.App.Audit.Published = func(ctx context.Context, r audit.Record) {
		// As the publisher Lambda, whatever function finalized the record.
		if _, err := pub.Publish(invocation(ctx, jobs.Publish), []audit.Record{r}); err != nil {
			log.WarnContext(ctx, "local audit event not published", "auditId", r.ID, "error", err)
		}
	}
	return nil
}

// withLocalEvents serves GET /_local/events (the sink's latest events, no
// credential) and hands every other request to next. The deployed API has
// no such route.
func withLocalEvents(sink *eventsink.Sink, next http.Handler) http.Handler {
	if sink == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == eventsink.Path && r.Method == http.MethodGet {
			sink.ServeRecent(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// invocation is ctx as the named Lambda's invocation (the context the local
// gateway gives a route's): the tests attribute AWS calls by it.
func invocation(ctx context.Context, function string) context.Context {
	return lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID: "local-" + function, InvokedFunctionArn: gateway.FunctionArn(function)})
}

// RunJob runs one scheduled Lambda's handler once, as its schedule invokes
// it: jobs.Sweep or jobs.Expiring.
func (s *Stack) RunJob(ctx context.Context, function string) error {
	ctx = invocation(ctx, function)
	var err error
	switch function {
	case jobs.Sweep:
		_, err = jobs.SweepHandler(s.App.Audit, s.App.Log)(ctx)
	case jobs.Expiring:
		_, err = jobs.ExpiringHandler(s.App.Expiry, s.App.Log)(ctx)
	default:
		err = fmt.Errorf("no scheduled job %q", function)
	}
	return err
}

// RunJobs runs the scheduled Lambdas in local mode until ctx ends: the audit
// sweep every interval, the key.expiring notices at start and every 24 hours.
// `make dev` runs it; tests run the jobs themselves (RunJob).
func (s *Stack) RunJobs(ctx context.Context, interval time.Duration) {
	sweep := time.NewTicker(interval)
	defer sweep.Stop()
	daily := time.NewTicker(24 * time.Hour)
	defer daily.Stop()
	run := func(function string) {
		if err := s.RunJob(ctx, function); err != nil && ctx.Err() == nil {
			s.App.Log.WarnContext(ctx, "scheduled job failed", "function", function, "error", err)
		}
	}
	run(jobs.Expiring)
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			run(jobs.Sweep)
		case <-daily.C:
			run(jobs.Expiring)
		}
	}
}

func nowOf(c interface{ Now() time.Time }) func() time.Time {
	if c == nil {
		return nil
	}
	return c.Now
}
