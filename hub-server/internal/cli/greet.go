package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// greet tells whoever starts a hub where the console is and, on a new
// hub, which step comes next, so the README is not the only guide.
// Behind a reverse proxy the public address (--public-url) is where
// people reach the console, not the loopback address the hub listens on.
func greet(ctx context.Context, st store.Store, listen, publicURL string, tls bool, data *storeLoc, log *slog.Logger) {
	url := strings.TrimSuffix(publicURL, "/") + "/console/"
	if publicURL == "" {
		host := listen
		if strings.HasPrefix(host, ":") {
			host = "localhost" + host
		}
		scheme := "http://"
		if tls {
			scheme = "https://"
		}
		url = scheme + host + "/console/"
	}
	log.Info("console", "url", url)
	if _, err := st.TUFMetadata(ctx, "root", 0); errors.Is(err, store.ErrNotFound) {
		log.Info("no release repository yet: terminals update only once `hub-server release keys` (offline) and `hub-server release init` (here) have run; see provisioning/README.md, Releases and updates")
	}
	users, err := st.Users(ctx)
	if err != nil || len(users) > 0 {
		return
	}
	where := "--data " + data.DataDir
	if data.DB != "" {
		where = "--db $QUARTIERHUB_DB"
	}
	log.Warn("no console user yet; create the first admin with: echo 'a long passphrase' | hub-server user add " + where + " --name NAME --role admin --password-stdin")
}

// configExample prints a complete configuration layer, the embedded demo
// content, as a starting point for `config set --scope global`.
func configExample(o Opts) error {
	b, err := assets.ExampleLayer()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.Stdout, "%s\n", b)
	return err
}
