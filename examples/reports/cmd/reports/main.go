// Command reports is the example product's Lambda (examples/reports): both
// of its routes behind keygate, configured by the environment keygate's CDK
// construct sets (KEYGATE_TABLE, KEYGATE_ROUTES). `make build` builds it as
// build/reports/bootstrap for provided.al2023 on arm64.
package main

import (
	"github.com/keygate/keygate/examples/reports/api"
	"github.com/keygate/keygate/guard"
)

func main() { guard.Start(api.New()) }
