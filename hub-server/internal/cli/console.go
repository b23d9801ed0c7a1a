package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/console"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// readPassword reads one line (without its line ending) from r.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, console.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func userAdd(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("user add")
	name := fs.String("name", "", "user name (to log in with)")
	role := fs.String("role", "", "admin, moderator or viewer")
	stdin := fs.Bool("password-stdin", false, "read the password from standard input (one line)")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if *name == "" || *role == "" || !*stdin {
		return usageError{"user add: --name, --role and --password-stdin are required"}
	}
	pw, err := readPassword(o.Stdin)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, data)
	if err != nil {
		return err
	}
	defer st.Close()
	err = console.CreateUser(ctx, st, *name, *role, pw, console.DefaultParams, o.Now(), o.Rand, store.Audit{At: o.Now(), Actor: o.Actor})
	if errors.Is(err, console.ErrUserInput) {
		return errors.New(strings.TrimPrefix(err.Error(), console.ErrUserInput.Error()+": "))
	} else if err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.Stdout, "user %s added (%s)\n", *name, *role)
	return err
}

func userPassword(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("user password")
	name := fs.String("name", "", "user name")
	stdin := fs.Bool("password-stdin", false, "read the new password from standard input (one line)")
	enable := fs.Bool("enable", false, "also enable the user if disabled")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if *name == "" || !*stdin {
		return usageError{"user password: --name and --password-stdin are required"}
	}
	pw, err := readPassword(o.Stdin)
	if err != nil {
		return err
	}
	if err := console.CheckPasswordRules(pw); err != nil {
		return err
	}
	st, err := openStore(ctx, data)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.UserByName(ctx, *name)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user named %q", *name)
	} else if err != nil {
		return err
	}
	if u.PasswordHash, err = console.HashPassword(pw, console.DefaultParams); err != nil {
		return err
	}
	detail := "password reset"
	if *enable && u.Disabled() {
		u.DisabledAt, detail = time.Time{}, "password reset, enabled"
	}
	if err := st.UpdateUser(ctx, u, store.Audit{At: o.Now(), Actor: o.Actor, Action: "user.update", Subject: "user:" + u.Name, Detail: detail}); err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.Stdout, "user %s: %s\n", u.Name, detail)
	return err
}

func userList(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("user list")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	st, err := openStore(ctx, data)
	if err != nil {
		return err
	}
	defer st.Close()
	us, err := st.Users(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(o.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSTATE\tLAST LOGIN")
	for _, u := range us {
		state, login := "active", "never"
		if u.Disabled() {
			state = "disabled"
		}
		if !u.LastLoginAt.IsZero() {
			login = u.LastLoginAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, state, login)
	}
	return tw.Flush()
}
