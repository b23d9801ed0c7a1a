package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
)

// backup copies the SQLite hub database while the hub runs. PostgreSQL
// deployments back up with the database's own tools (pg_dump).
func backup(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("backup")
	to := fs.String("to", "", "write the copy to this file (must not exist)")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if data.DB != "" {
		return usageError{"backup: with PostgreSQL use its own tools, e.g. pg_dump --format custom \"$QUARTIERHUB_DB\" > hub.dump"}
	}
	if *to == "" {
		return usageError{"backup: --to FILE is required"}
	}
	st, err := openStore(ctx, data)
	if err != nil {
		return err
	}
	defer st.Close()
	lite, ok := st.(*sqlitestore.Store)
	if !ok {
		return fmt.Errorf("backup: unexpected store %T", st)
	}
	if err := lite.Backup(ctx, *to); err != nil {
		return err
	}
	info, err := os.Stat(*to)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Stdout, "backup written to %s (%d bytes); to restore, stop the hub, delete %[3]s-wal and %[3]s-shm and copy it to %[3]s\n", *to, info.Size(), DBPath(data.DataDir))
	return nil
}
