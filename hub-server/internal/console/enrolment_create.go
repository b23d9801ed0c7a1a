package console

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

var terminalName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// newToken is an enrolment token: "qht_" and 160 random bits (the same
// form as `hub-server token create`).
func (c *Console) newToken() (string, error) {
	b := make([]byte, 20)
	if _, err := io.ReadFull(c.o.Rand, b); err != nil {
		return "", fmt.Errorf("console: token: %w", err)
	}
	return "qht_" + base64.RawURLEncoding.EncodeToString(b), nil
}

func (c *Console) enrolmentCreate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := strings.ToLower(strings.TrimSpace(r.PostFormValue("name")))
	quarter := strings.TrimSpace(r.PostFormValue("quarter"))
	d := enrolData{Name: name, Quarter: quarter, Hub: c.hubURL(r)}
	if ts, err := c.st.Terminals(ctx); err == nil {
		d.Quarters, _ = quartersAndTags(ts)
	}
	switch {
	case !terminalName.MatchString(name):
		d.Error = msg("enrol.error.name_invalid")
	case quarter == "" || len(quarter) > 100:
		d.Error = msg("enrol.error.quarter_missing")
	}
	if d.Error != nil {
		c.render(w, r, http.StatusBadRequest, "enrol", msg("enrol.title"), "enrol", d)
		return
	}
	tok, err := c.newToken()
	if err != nil {
		c.serverError(w, r, "enrol", err)
		return
	}
	now := c.o.Now()
	err = c.st.CreateEnrolTokenAudited(ctx, store.EnrolToken{Hash: sha256.Sum256([]byte(tok)), TerminalName: name, Quarter: quarter, CreatedAt: now, ExpiresAt: now.Add(c.o.TokenTTL)},
		c.auditEntry(ctx, "terminal.token", "terminal:"+name, "enrolment token for quarter "+quarter+", valid until "+when(now.Add(c.o.TokenTTL))))
	if errors.Is(err, store.ErrNameTaken) {
		d.Error = msg("enrol.error.name_taken")
		c.render(w, r, http.StatusConflict, "enrol", msg("enrol.title"), "enrol", d)
		return
	} else if err != nil {
		c.serverError(w, r, "enrol", err)
		return
	}
	c.showToken(w, r, name, quarter, tok, now.Add(c.o.TokenTTL), false)
}

// showToken shows a new token once: as text, as the kiosk command and as
// a QR code.
func (c *Console) showToken(w http.ResponseWriter, r *http.Request, name, quarter, tok string, expires time.Time, rotation bool) {
	hub := c.hubURL(r)
	d := enrolData{Name: name, Quarter: quarter, Token: tok, Expires: expires, Rotation: rotation, Hub: hub, URI: api.EnrolmentURI(hub, tok)}
	d.Command = "kiosk enroll --hub " + hub + " --token " + tok + " --data /var/lib/quartierhub-kiosk"
	if rotation {
		d.Command += " --force"
	}
	qr, err := qrSVG(d.URI, msg("enrol.qr_label").In(c.lang(r, principalFrom(r.Context()), false)))
	if err != nil {
		c.serverError(w, r, "qr", err)
		return
	}
	d.QR = qr
	c.render(w, r, http.StatusOK, "token", msg("enrol.token_title"), "enrol", d)
}
