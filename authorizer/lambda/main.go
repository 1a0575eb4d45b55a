// Command authorizer is the REQUEST authorizer Lambda.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keygate/keygate/authorizer"
	"github.com/keygate/keygate/shared/app"
)

func main() {
	ctx := context.Background()
	a, err := app.FromEnv(ctx, app.LambdaLogger())
	if err != nil {
		fmt.Fprintln(os.Stderr, "authorizer:", err)
		os.Exit(1)
	}
	v, err := a.Verifier(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "authorizer:", err)
		os.Exit(1)
	}
	// A scoped key's policy lists the product's routes (KEYGATE_ROUTES, set
	// by the CDK construct) next to keygate's.
	lambda.Start(authorizer.New(a.Keys, v, a.Config.AllRoutes(), a.Config.KeyCacheTTL, a.Log).Handle)
}
