// Command wslistkeys is the Lambda behind one route, the wslistkeys handler; the route
// table in functions/handlers says which.
package main

import "github.com/keygate/keygate/functions/handlers"

func main() { handlers.Main("wslistkeys") }
