// Package jsonstr holds the byte-level pieces of JSON string literals that
// internal/packet (socket.io JSON, written as encoding/json writes it) and
// internal/msgpack (JSON as JSON.stringify writes it) both need: the test
// of 8 bytes at once for plain string content, the escape of an ASCII
// byte, what a one-letter escape and a \uXXXX stand for, and the writing
// loop of a string literal (AppendQuoted). What the two writers do
// differently (U+2028 and U+2029, invalid UTF-8) stays in each, as the
// function AppendQuoted calls for a non-ASCII byte.
//
// Everything but AppendQuoted and Hex4 (which runs only on \u escapes) is
// small enough to be inlined into the scanning loops that call it;
// BenchmarkDecodeEvent and BenchmarkAppendArgs in internal/packet measure
// those loops. The functions are pure and safe from any goroutine; the
// Append functions append to dst and keep nothing.
package jsonstr
