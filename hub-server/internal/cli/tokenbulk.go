package cli

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// tokenBulk creates --count enrolment tokens for the terminals
// PREFIX-000000 … in one process and prints "NAME TOKEN" per line: for
// fleet simulations and mass roll-outs, where one `token create` per
// terminal would start the CLI (and open the store) thousands of times.
func tokenBulk(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("token bulk")
	prefix := fs.String("prefix", "", "terminal names are PREFIX-000000, PREFIX-000001, …")
	count := fs.Int("count", 0, "how many tokens to create")
	first := fs.Int("first", 0, "number of the first terminal")
	quarter := fs.String("quarter", "", "quarter the terminals stand in")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the tokens stay valid")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	switch {
	case *prefix == "" || *quarter == "":
		return usageError{"token bulk: --prefix and --quarter are required"}
	case *count <= 0 || *first < 0:
		return usageError{"token bulk: --count must be positive and --first not negative"}
	case *ttl <= 0:
		return usageError{"token bulk: --ttl must be positive"}
	}
	st, err := openStore(ctx, data)
	if err != nil {
		return err
	}
	defer st.Close()
	w := bufio.NewWriterSize(o.Stdout, 64<<10)
	now := o.Now()
	for i := *first; i < *first+*count; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := fmt.Sprintf("%s-%06d", *prefix, i)
		tok, err := NewToken(o.Rand)
		if err != nil {
			return err
		}
		err = st.CreateEnrolToken(ctx, store.EnrolToken{Hash: sha256.Sum256([]byte(tok)), TerminalName: name, Quarter: *quarter,
			CreatedAt: now, ExpiresAt: now.Add(*ttl)})
		if errors.Is(err, store.ErrNameTaken) {
			return fmt.Errorf("token bulk: a terminal named %q is already enrolled", name)
		}
		if err != nil {
			return fmt.Errorf("token bulk: %w", err)
		}
		if _, err := fmt.Fprintln(w, name, tok); err != nil {
			return err
		}
	}
	return w.Flush()
}
