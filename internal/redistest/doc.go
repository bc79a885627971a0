// Package redistest runs real redis-server processes on loopback ports for
// tests: a single server, or a three-master Redis Cluster. Each is started
// with persistence off (an empty --save, --appendonly no), in the test's temporary
// directory, and stopped by its PID when the test ends. Nothing is mocked:
// tests that need Redis fail with a clear message when redis-server is not
// installed (bash .ci/setup installs it).
package redistest
