//go:build unix && !linux

package pgtest

import (
	"os/exec"
	"syscall"
)

func command(cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.Env = []string{"LC_ALL=C", "PATH=/usr/bin:/bin"}
	c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return c
}
