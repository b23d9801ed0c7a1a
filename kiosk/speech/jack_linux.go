package speech

import (
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// switchState reads the device's switch bits (EVIOCGSW) and returns bit
// code. A device that is no evdev device (a pipe in tests) cannot tell.
func switchState(f *os.File, code uint) (bool, error) {
	var bits [8]byte // SW_MAX is 0x10: two bytes would do
	// EVIOCGSW(len) = _IOC(_IOC_READ, 'E', 0x1b, len)
	req := uint(2)<<30 | uint(len(bits))<<16 | uint('E')<<8 | 0x1b
	raw, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var ioErr error
	if err := raw.Control(func(fd uintptr) {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, uintptr(req), uintptr(unsafe.Pointer(&bits)))
		if errno != 0 {
			ioErr = errno
		}
	}); err != nil {
		return false, err
	}
	if errors.Is(ioErr, unix.ENOTTY) || errors.Is(ioErr, unix.EINVAL) {
		return false, errNoSwitchState
	}
	if ioErr != nil {
		return false, ioErr
	}
	return bits[code/8]&(1<<(code%8)) != 0, nil
}
