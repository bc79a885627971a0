//go:build unix

package loop

import (
	"math"
	"syscall"
)

// fileLimit returns the soft RLIMIT_NOFILE, or 0 when it is unknown or
// too large to matter.
func fileLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur >= math.MaxInt32 {
		return 0
	}
	return int(rl.Cur)
}
