// This module exists only to keep tools/node_modules (which ships Go
// templates inside the aws-cdk package) out of the root module's ./... .
module github.com/keygate/keygate/tools

go 1.26.8
