// Package testutil holds the helpers the packages' tests share: waiting
// for a state no event announces, drawing free loopback addresses,
// starting a server on one (serve.go), the set-up of the browser tests
// (browser.go), and self-signed certificates for TLS servers (cert.go). It
// is imported by tests only and depends on the standard library alone, so
// every package may use it.
package testutil
