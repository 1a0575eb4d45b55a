// Command secretscan is the Lambda behind one route, handlers.SecretScan
// (GitHub's secret scanning partner reports); the route table in
// functions/handlers says which.
package main

import "github.com/keygate/keygate/functions/handlers"

func main() { handlers.Main("secretscan") }
