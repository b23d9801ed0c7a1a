package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/quartierhub/quartierhub/hub-server/internal/console"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// consoleOpts are serve's web console flags.
type consoleOpts struct {
	publicURL     string
	secureCookies bool
	// behindProxy is set from serve's --trusted-proxy: the server then
	// passes on X-Forwarded-Proto only from those proxies.
	behindProxy bool
}

func consoleFlags(fs *flag.FlagSet) *consoleOpts {
	c := &consoleOpts{}
	fs.StringVar(&c.publicURL, "public-url", "", "the hub's address as terminals and residents reach it, e.g. https://hub.example.org (default: from each request)")
	fs.BoolVar(&c.secureCookies, "secure-cookies", false, "mark console cookies Secure even on plain HTTP (behind a TLS proxy that does not set X-Forwarded-Proto)")
	return c
}

// withConsole puts the web console beside the terminal API: /api/ goes to
// api, everything else to the console. run expires sessions.
func withConsole(st store.Store, api http.Handler, co *consoleOpts, o Opts, log *slog.Logger) (http.Handler, func(context.Context) error, error) {
	c, err := console.New(st, console.Opts{Now: o.Now, Rand: o.Rand, Logger: log, PublicURL: strings.TrimRight(co.publicURL, "/"),
		SecureCookies: co.secureCookies, TrustProxy: co.behindProxy})
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("/", c)
	return mux, c.Run, nil
}

// alongside runs serve and run together; the first error stops both.
func alongside(serve, run func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error { return run(gctx) })
		g.Go(func() error {
			err := serve(gctx)
			if err == nil && ctx.Err() == nil {
				err = errors.New("server stopped")
			}
			return err
		})
		return g.Wait()
	}
}

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
	st, err := openStore(ctx, data, false)
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
	st, err := openStore(ctx, data, false)
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
	st, err := openStore(ctx, data, false)
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
