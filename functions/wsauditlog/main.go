// Command wsauditlog is the Lambda behind one route, handlers.WorkspaceAuditLog; the route
// table in functions/handlers says which.
package main

import "github.com/keygate/keygate/functions/handlers"

func main() { handlers.Main("wsauditlog") }
