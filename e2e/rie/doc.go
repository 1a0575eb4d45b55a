// Package rie is keygate's packaging smoke test. Its test builds the real
// bootstrap binaries of the authorizer and of every route Lambda (as `make
// build` does, but for the test machine's architecture), runs each under the
// AWS Lambda Runtime Interface Emulator pinned as a Go tool in go.mod, and
// invokes it with API Gateway events from testdata/ against dynalite. It
// records each binary's size and the time from process start to the first
// answered invocation; set KEYGATE_RIE_REPORT to a file name to get that table
// written there as well.
//
// The test runs on Linux only (the emulator and the binaries are Linux
// programs). `go test -short` skips it.
package rie
