package packaging

import (
	"fmt"
	"os"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// maxTUFRoot bounds the root file read: a root with a few keys is a few
// kilobytes.
const maxTUFRoot = 1 << 20

// CheckTUFRoot reads the root.json a package is to pin and checks that
// it is TUF root metadata signed by a threshold of its own root keys,
// so a package is never built around a wrong file (a targets.json, an
// unsigned draft), which would leave every terminal unable to update.
func CheckTUFRoot(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("packaging: TUF root: %w", err)
	}
	if fi.Size() > maxTUFRoot {
		return fmt.Errorf("packaging: TUF root %s: %d bytes, more than %d", path, fi.Size(), maxTUFRoot)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("packaging: TUF root: %w", err)
	}
	root, err := metadata.Root().FromBytes(data)
	if err != nil {
		return fmt.Errorf("packaging: TUF root %s: %w", path, err)
	}
	if err := root.VerifyDelegate(metadata.ROOT, root); err != nil {
		return fmt.Errorf("packaging: TUF root %s is not signed by its own root keys: %w", path, err)
	}
	return nil
}
