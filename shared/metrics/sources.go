package metrics

import (
	"context"
	"net/http"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// DynamoDBOption is a DynamoDB client option that records StoreLatency for
// every call: the time the caller waits, SDK retries and failures included,
// under the operation's name (GetItem, UpdateItem, PutItem, Query,
// BatchGetItem; other operations are not recorded). Give it to the client
// once, where it is built.
func DynamoDBOption() func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, addStoreLatency)
	}
}

var storeLatencyMiddleware = middleware.InitializeMiddlewareFunc("keygateStoreLatency",
	func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		start := time.Now()
		out, md, err := next.HandleInitialize(ctx, in)
		storeLatency(ctx, awsmiddleware.GetOperationName(ctx), time.Since(start))
		return out, md, err
	})

// addStoreLatency puts the timer first in the Initialize step, so that it
// spans everything the SDK does for the call.
func addStoreLatency(s *middleware.Stack) error {
	return s.Initialize.Add(storeLatencyMiddleware, middleware.Before)
}

// JWKSClient is an HTTP client for fetching the issuer's JWKS that counts
// each fetch in JWKSFetches (ok: a 2xx answer; error: anything else). A fetch
// inside an invocation counts there; a background refresh writes its own line.
func JWKSClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: jwksTransport{http.DefaultTransport}}
}

type jwksTransport struct{ next http.RoundTripper }

func (t jwksTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	JWKSFetch(req.Context(), err == nil && resp.StatusCode >= 200 && resp.StatusCode < 300)
	return resp, err
}
