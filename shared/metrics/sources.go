package metrics

import (
	"context"
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
