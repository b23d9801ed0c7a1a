package terminalapi

import (
	"errors"
	"fmt"
	"mime"
	"net/http"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// screenshotHeaders lets a screenshot upload on only as a PNG with a
// Content-Digest: with it authenticate checks the signature before it
// reads the body, so only the terminal itself can make the hub read
// megabytes (a terminal that knows how to upload a screenshot sends one
// anyway; without it the request is refused, not read).
func screenshotHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 {
			w.Header().Set("Connection", "close")
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "image/png" {
			writeError(w, http.StatusUnsupportedMediaType, api.CodeUnsupported, "Content-Type must be image/png")
			return
		}
		switch r.Header.Get("Content-Encoding") {
		case "", "identity":
		default:
			writeError(w, http.StatusUnsupportedMediaType, api.CodeUnsupported, "Content-Encoding must be absent: a PNG is compressed already")
			return
		}
		if _, err := api.ParseContentDigest(r.Header.Get(api.DigestHeader)); err != nil {
			writeError(w, http.StatusBadRequest, api.CodeBadRequest, "a screenshot needs Content-Digest: sha-256=:BASE64:")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// screenshotAsked lets a picture's body in only for an open screenshot
// command {id} of this terminal, charged to the ingest budget like a
// batch: nobody asked for any other picture.
func (h *Handler) screenshotAsked(w http.ResponseWriter, r *http.Request, t store.Terminal, c *charge, size int64) bool {
	cmds, err := h.st.OpenCommands(r.Context(), t.ID, h.o.Now())
	if err != nil {
		h.internal(w, "screenshot: commands", err)
		return false
	}
	id := r.PathValue("id")
	asked := false
	for _, cmd := range cmds {
		asked = asked || cmd.ID == id && cmd.Kind == api.CommandScreenshot
	}
	if !asked {
		h.refuse(w, r, http.StatusConflict, api.CodeNotRequested, "no open screenshot command of this terminal has this ID", t.ID)
		return false
	}
	if !c.add(ingestOverhead + size) {
		h.overloaded(w)
		return false
	}
	return true
}

// screenshot stores the picture of the window for the terminal's open
// screenshot command, once its size is read from the PNG's header
// (api.CheckScreenshot: the hub never decodes the pixels); the store
// keeps the newest few per terminal within a total (Opts.KeepScreenshots).
func (h *Handler) screenshot(w http.ResponseWriter, r *http.Request) {
	t, _ := TerminalFrom(r.Context())
	body := bodyFrom(r.Context())
	width, height, err := api.CheckScreenshot(body)
	if err != nil {
		h.refuse(w, r, http.StatusBadRequest, api.CodeBadRequest, err.Error(), t.ID)
		return
	}
	now := h.o.Now()
	id, err := ulid.New(ulid.Timestamp(now), h.o.Rand)
	if err != nil {
		h.internal(w, "screenshot: id", err)
		return
	}
	saved, err := h.st.SaveScreenshot(r.Context(), store.Screenshot{ScreenshotInfo: store.ScreenshotInfo{ID: id.String(), TerminalID: t.ID,
		CommandID: r.PathValue("id"), ReceivedAt: now, Width: width, Height: height}, PNG: body}, h.o.KeepScreenshots)
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.refuse(w, r, http.StatusConflict, api.CodeNotRequested, "no screenshot command of this terminal has this ID", t.ID)
		return
	case errors.Is(err, store.ErrCommandClosed):
		h.refuse(w, r, http.StatusConflict, api.CodeCommandClosed, "the screenshot command expired or already finished", t.ID)
		return
	case err != nil:
		h.internal(w, "screenshot", err)
		return
	}
	if saved.ID == id.String() {
		h.o.Logger.Info("screenshot stored", "terminal", t.ID, "id", saved.ID, "bytes", len(body), "size", fmt.Sprintf("%dx%d", width, height))
	}
	writeJSON(w, http.StatusOK, api.ScreenshotAck{ID: saved.ID})
}
