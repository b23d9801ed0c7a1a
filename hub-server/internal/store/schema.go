package store

import (
	"errors"
	"fmt"
)

// ErrSchemaNewer: the database was migrated by a newer hub than this one.
var ErrSchemaNewer = errors.New("store: the database is newer than this hub-server")

// CheckSchemaVersion refuses a database whose newest applied migration
// (dbVersion) is beyond the newest this binary knows (known): migrations
// run forward only, and an older hub writing to a newer schema could lose
// or corrupt what the newer one stores.
func CheckSchemaVersion(dbVersion, known int64) error {
	if dbVersion > known {
		return fmt.Errorf("%w: it is at migration %d, this hub-server knows migrations up to %d; run the newer hub-server "+
			"(to go back to this version, restore the backup taken before the update)", ErrSchemaNewer, dbVersion, known)
	}
	return nil
}
