package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/air"
	"github.com/quartierhub/quartierhub/internal/userr"
)

// siteQuantity is one quantity of the site form with what its default
// is outdoors and indoors (store.Site.Resolution).
type siteQuantity struct {
	air.Quantity
	DefaultOutdoor, DefaultIndoor string
}

// siteData is the site page: the stored site (nil: not published), the
// form (as stored, or as the person typed it), and what happened.
type siteData struct {
	Terminal   store.Terminal
	Stored     *store.Site
	Version    int64 // the version the form saves on
	Form       siteInput
	Quantities []siteQuantity
	Choices    []string
	// Labels names each resolution (and "default" nothing: the form
	// spells out what the default is).
	Labels map[string]*Message
	Error  *Message
	// Conflict: someone saved or stopped the site since the form was
	// loaded; Stored is what is stored now, Form what this person typed.
	Conflict bool
	Done     string // "saved" or "stopped" after a redirect
}

var resolutionLabels = map[string]*Message{
	store.ResolutionMinute: msg("site.resolution.minute"),
	store.ResolutionHour:   msg("site.resolution.hour"),
	store.ResolutionOff:    msg("site.resolution.off"),
}

func newSiteData(t store.Terminal, stored *store.Site) siteData {
	d := siteData{Terminal: t, Stored: stored, Choices: publishChoices, Labels: resolutionLabels}
	for _, q := range air.Quantities {
		d.Quantities = append(d.Quantities, siteQuantity{Quantity: q,
			DefaultOutdoor: store.Site{}.Resolution(q.ID), DefaultIndoor: store.Site{Indoor: true}.Resolution(q.ID)})
	}
	if stored != nil {
		d.Version, d.Form = stored.Version, siteInputOf(*stored)
	} else {
		d.Form = siteInputOf(store.Site{})
		d.Form.Lat, d.Form.Lon = "", ""
	}
	return d
}

// storedSite is the terminal's site, nil when it has none.
func (c *Console) storedSite(ctx context.Context, terminalID string) (*store.Site, error) {
	s, err := c.st.Site(ctx, terminalID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func sitePath(t store.Terminal) string {
	return "/console/terminals/" + url.PathEscape(t.Name) + "/site"
}

func (c *Console) siteShow(w http.ResponseWriter, r *http.Request) {
	t, ok := c.terminalNamed(w, r)
	if !ok {
		return
	}
	stored, err := c.storedSite(r.Context(), t.ID)
	if err != nil {
		c.serverError(w, r, "site", err)
		return
	}
	d := newSiteData(t, stored)
	if done := r.URL.Query().Get("site"); done == "saved" || done == "stopped" {
		d.Done = done
	}
	c.render(w, r, http.StatusOK, "terminal_site", msg("site.title", "terminal", t.Name), "fleet", d)
}

// siteSave stores the site on the version the form was loaded with: a
// site saved or stopped meanwhile gets the conflict page, which keeps
// what this person typed beside what is stored now.
func (c *Console) siteSave(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, ok := c.terminalNamed(w, r)
	if !ok {
		return
	}
	in, base := siteInputFrom(r), formVersion(r)
	site, m := in.site()
	if m == nil {
		site.TerminalID, site.Version = t.ID, base
		_, err := c.st.PutSite(ctx, site, c.auditEntry(ctx, "site.set", "terminal:"+t.Name, siteDetail(site)))
		switch {
		case err == nil:
			c.o.Logger.Info("console: site saved", "terminal", t.ID)
			http.Redirect(w, r, sitePath(t)+"?site=saved", http.StatusSeeOther)
			return
		case errors.Is(err, store.ErrVersionConflict):
			c.siteConflict(w, r, t, in, base)
			return
		case userr.Message(err, "") != "":
			m = verbatim(userr.Message(err, ""))
		default:
			c.serverError(w, r, "site save", err)
			return
		}
	}
	stored, err := c.storedSite(ctx, t.ID)
	if err != nil {
		c.serverError(w, r, "site", err)
		return
	}
	d := newSiteData(t, stored)
	d.Form, d.Version, d.Error = in, base, m
	c.render(w, r, http.StatusUnprocessableEntity, "terminal_site", msg("site.title", "terminal", t.Name), "fleet", d)
}

// siteStop unpublishes the terminal (DeleteSite) if its site is still
// the version the page showed.
func (c *Console) siteStop(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, ok := c.terminalNamed(w, r)
	if !ok {
		return
	}
	base := formVersion(r)
	err := c.st.DeleteSite(ctx, t.ID, base, c.auditEntry(ctx, "site.delete", "terminal:"+t.Name, fmt.Sprintf("version %d", base)))
	switch {
	case err == nil:
		c.o.Logger.Info("console: site stopped", "terminal", t.ID)
		http.Redirect(w, r, sitePath(t)+"?site=stopped", http.StatusSeeOther)
	case errors.Is(err, store.ErrVersionConflict), errors.Is(err, store.ErrNotFound):
		// Changed or stopped by someone else meanwhile (the terminal
		// itself exists: terminalNamed found it).
		c.siteConflict(w, r, t, siteInputFrom(r), base)
	default:
		c.serverError(w, r, "site stop", err)
	}
}

// siteConflict shows the conflict page and audits the refused change;
// nothing changed, so a failing audit write is logged, not fatal.
func (c *Console) siteConflict(w http.ResponseWriter, r *http.Request, t store.Terminal, in siteInput, base int64) {
	ctx := r.Context()
	stored, err := c.storedSite(ctx, t.ID)
	if err != nil {
		c.serverError(w, r, "site", err)
		return
	}
	d := newSiteData(t, stored)
	d.Conflict, d.Version = true, 0
	if stored != nil {
		d.Version = stored.Version
	}
	if in.Lat != "" || in.Place != "" {
		d.Form = in
	}
	detail := fmt.Sprintf("not changed: based on version %d, version %d is stored", base, d.Version)
	if err := c.st.AppendAudit(ctx, c.auditEntry(ctx, "site.conflict", "terminal:"+t.Name, detail)); err != nil {
		c.o.Logger.Error("console: audit", "action", "site.conflict", "err", err)
	}
	c.render(w, r, http.StatusConflict, "terminal_site", msg("site.title", "terminal", t.Name), "fleet", d)
}

// siteDetail is the audit entry's detail: the point, the place and what
// is published of each quantity (all of it public once saved).
func siteDetail(s store.Site) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%.6f,%.6f %q indoor=%t", s.Latitude, s.Longitude, s.Place, s.Indoor)
	for _, q := range air.Quantities {
		fmt.Fprintf(&b, " %s=%s", q.ID, s.Resolution(q.ID))
	}
	return b.String()
}
