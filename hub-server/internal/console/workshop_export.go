package console

import (
	"net/http"
)

// workshopExports are the export formats: the service's format name,
// the file's extension and its media type.
var workshopExports = map[string]struct{ format, ext, mediaType string }{
	"csv":  {"csv", "csv", "text/csv; charset=utf-8"},
	"json": {"json", "json", "application/json"},
	"log":  {"log", "jsonl.gz", "application/gzip"},
}

// workshopExport streams a workshop's results (CSV, JSON) or its event
// log (gzip'd JSON Lines, whose SHA-256 the results page shows). Every
// export is audited first.
func (c *Console) workshopExport(w http.ResponseWriter, r *http.Request) {
	x, ok := workshopExports[r.PathValue("format")]
	if !ok {
		c.fail(w, r, http.StatusNotFound, msg("error.no_such_page"))
		return
	}
	v, ok := c.workshopOf(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if err := c.audit(ctx, "workshop.export", "workshop:"+v.Workshop.ID, x.format); err != nil {
		c.serverError(w, r, "audit", err)
		return
	}
	w.Header().Set("Content-Type", x.mediaType)
	w.Header().Set("Content-Disposition", `attachment; filename="workshop-`+v.Workshop.ID+`.`+x.ext+`"`)
	w.Header().Set("Cache-Control", "no-store")
	if _, err := c.o.Workshops.Export(ctx, v.Workshop.ID, x.format, w); err != nil {
		// The headers are out; the cut-short body is all a browser gets.
		c.o.Logger.Error("console: workshop export", "workshop", v.Workshop.ID, "format", x.format, "err", err)
	}
}
