// Command scopes is the Lambda behind one route, handlers.Scopes; the route
// table in functions/handlers says which.
package main

import "github.com/keygate/keygate/functions/handlers"

func main() { handlers.Main("scopes") }
