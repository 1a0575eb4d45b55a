// Command revokekey is the Lambda behind one route; see handlers.RevokeKey.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/keygate/keygate/functions/handlers"
	"github.com/keygate/keygate/shared/app"
	"github.com/keygate/keygate/shared/lambdahttp"
)

func main() {
	a, err := app.FromEnv(context.Background(), lambdacontext.NewLogger())
	if err != nil {
		fmt.Fprintln(os.Stderr, "revokekey:", err)
		os.Exit(1)
	}
	lambda.Start(lambdahttp.Adapter(handlers.RevokeKey(a.Keys), a.Meter, a.Log))
}
