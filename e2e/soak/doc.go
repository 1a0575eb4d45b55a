// Command soak runs keygate's local stack for a set time under a mixed load
// and checks what must hold over minutes (`make soak`; see mk/soak.mk).
package main
