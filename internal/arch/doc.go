// Package arch holds no code: its test (arch_test.go) checks the module's layering from `go list`'s
// import graph, so that the package borders the doc.go files describe are enforced rather than
// commented. The rules, and today's exceptions with the reason and issue for each, are in the test.
//
// May import: nothing (the test imports the standard library only).
package arch
