//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// ownGroup puts cmd in a process group of its own, so that Ctrl-C in a
// terminal (SIGINT to the foreground group) reaches this program only,
// which then stops the nodes before Redis and nginx, in order.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
