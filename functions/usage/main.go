// Command usage is the Lambda behind one route, handlers.Usage; the route
// table in functions/handlers says which.
package main

import "github.com/keygate/keygate/functions/handlers"

func main() { handlers.Main("usage") }
