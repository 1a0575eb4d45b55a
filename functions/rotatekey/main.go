// Command rotatekey is the Lambda behind one route, the rotatekey handler; the route
// table in functions/handlers says which.
package main

import "github.com/keygate/keygate/functions/handlers"

func main() { handlers.Main("rotatekey") }
