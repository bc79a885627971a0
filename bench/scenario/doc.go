// Package scenario is sioloop's side of the benchmark scenario contract
// (BENCHMARKS.md, Method): the event handlers every server in
// bench/ implements, written on the public sio API. bench/server runs them;
// tests that need a scenario server in-process register them too.
package scenario
