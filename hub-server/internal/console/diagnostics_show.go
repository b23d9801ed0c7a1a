package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Diagnostics bundles hold the agent's status and its recent log records
// (kiosk/agent: fleet.go diagnostics, logring.go). Neither carries
// personal data: the status is device, sync and outbox state; the log
// ring copies the agent's own slog records, which by CONVENTIONS.md name
// IDs, kinds, counts and errors only (card UIDs never reach a log). So
// viewers may read them like the rest of the fleet's state.

type logRow struct {
	api.LogLine
	Attrs string // key=value, sorted
}

type diagnosticsData struct {
	Terminal store.Terminal
	Info     store.Diagnostics
	Size     string
	Status   string // pretty-printed
	Logs     []logRow
	Total    int
	Level    string // "" all, "warn" warnings and errors only
	Broken   bool   // the bundle is not valid JSON of api.Diagnostics
}

// diagnosticsBundle loads the {bundle} of the {name} terminal, answering
// 404 itself when either is missing or the bundle is another terminal's.
func (c *Console) diagnosticsBundle(w http.ResponseWriter, r *http.Request) (store.Terminal, store.Diagnostics, bool) {
	t, ok := c.terminalNamed(w, r)
	if !ok {
		return t, store.Diagnostics{}, false
	}
	d, err := c.st.Diagnostics(r.Context(), r.PathValue("bundle"))
	if errors.Is(err, store.ErrNotFound) || err == nil && d.TerminalID != t.ID {
		c.fail(w, r, http.StatusNotFound, msg("diagnostics.error.no_such_bundle"))
		return t, d, false
	} else if err != nil {
		c.serverError(w, r, "diagnostics", err)
		return t, d, false
	}
	return t, d, true
}

func attrsText(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString("  ")
		}
		fmt.Fprintf(&b, "%s=%s", k, m[k])
	}
	return b.String()
}

// diagnosticsShow shows a bundle: the status pretty-printed and the log
// lines as a table, newest first (?level=warn: warnings and errors only).
func (c *Console) diagnosticsShow(w http.ResponseWriter, r *http.Request) {
	t, d, ok := c.diagnosticsBundle(w, r)
	if !ok {
		return
	}
	data := diagnosticsData{Terminal: t, Info: d, Size: sizeText(int64(len(d.Bundle))), Level: r.URL.Query().Get("level")}
	if data.Level != "warn" {
		data.Level = ""
	}
	var b api.Diagnostics
	if err := json.Unmarshal(d.Bundle, &b); err != nil {
		data.Broken = true
	} else {
		data.Status = prettyJSON(b.Status)
		data.Total = len(b.Logs)
		for i := len(b.Logs) - 1; i >= 0; i-- {
			l := b.Logs[i]
			if data.Level == "warn" && !strings.HasPrefix(l.Level, "WARN") && !strings.HasPrefix(l.Level, "ERROR") {
				continue
			}
			data.Logs = append(data.Logs, logRow{LogLine: l, Attrs: attrsText(l.Attrs)})
		}
	}
	c.render(w, r, http.StatusOK, "diagnostics", msg("common.diagnostics"), "fleet", data)
}

// diagnosticsDownload sends the bundle's JSON as it was uploaded, and
// audits it.
func (c *Console) diagnosticsDownload(w http.ResponseWriter, r *http.Request) {
	t, d, ok := c.diagnosticsBundle(w, r)
	if !ok {
		return
	}
	if err := c.audit(r.Context(), "diagnostics.download", "terminal:"+t.Name, d.ID); err != nil {
		c.serverError(w, r, "diagnostics audit", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="diagnostics-%s.json"`, d.ID))
	h.Set("Cache-Control", "no-store")
	w.Write(d.Bundle)
}

// sizeText is a byte count for people: 812 B, 12.4 KiB, 1.9 MiB.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
}
