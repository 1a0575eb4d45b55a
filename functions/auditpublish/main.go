// Command auditpublish is one of keygate's scheduled or stream Lambdas; functions/jobs
// holds its handler.
package main

import "github.com/keygate/keygate/functions/jobs"

func main() { jobs.Main("auditpublish") }
