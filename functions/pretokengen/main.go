// Command pretokengen is the Cognito pre-token-generation trigger (V2 event):
// it copies custom:tier and custom:teamId into access tokens. It reads no
// setting and calls nothing; the logic is shared/cognito/pretoken.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keygate/keygate/shared/cognito/pretoken"
)

func main() { lambda.Start(pretoken.Handle) }
