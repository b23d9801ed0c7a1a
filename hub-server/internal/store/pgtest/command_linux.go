package pgtest

import (
	"os/exec"
	"syscall"
)

// command runs as cred (nil: ourselves) and is sent SIGQUIT (immediate
// shutdown) if the test binary dies without stopping it.
func command(cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.Env = []string{"LC_ALL=C", "PATH=/usr/bin:/bin"}
	c.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	return c
}
