// This module exists only to keep console/ (a TypeScript app and its
// node_modules) out of the root module's ./... .
module github.com/keygate/keygate/console

go 1.26.8
