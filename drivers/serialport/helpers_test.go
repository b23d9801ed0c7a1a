package serialport_test

import "os"

func writeFile(path string) error { return os.WriteFile(path, nil, 0o600) }
