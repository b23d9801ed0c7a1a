package console

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// currentLayer returns scope's current layer document, nil if none.
func (c *Console) currentLayer(ctx context.Context, scope string) (*store.ConfigLayer, error) {
	layers, err := c.st.ConfigLayers(ctx)
	if err != nil {
		return nil, err
	}
	for i := range layers {
		if layers[i].Scope == scope {
			return &layers[i], nil
		}
	}
	return nil, nil
}

// checked is the outcome of checking a new layer.
type checked struct {
	Errors   []*Message
	Affected []string // terminals whose effective configuration changes
	Preview  *preview
	// Current is the scope's layer the new one was checked against (nil:
	// none yet); it may replace only that version (PutConfigLayerIf).
	Current *store.ConfigLayer
}

// Base is the version of Current, 0 when there was none.
func (ck *checked) Base() int64 {
	if ck.Current == nil {
		return 0
	}
	return ck.Current.Version
}

// checkLayer validates doc as scope's new layer for a user of role: the
// layer itself; that it changes only fields the role owns (layerFields),
// compared with the scope's current layer; and the effective
// configuration of every active terminal it reaches, so no terminal is
// sent a document it must refuse.
func (c *Console) checkLayer(ctx context.Context, scope string, doc []byte, role string) (checked, error) {
	var out checked
	layers, err := c.st.ConfigLayers(ctx)
	if err != nil {
		return out, err
	}
	byScope := map[string][]byte{}
	for i, l := range layers {
		byScope[l.Scope] = l.Document
		if l.Scope == scope {
			out.Current = &layers[i]
		}
	}
	// Current is known first, so a refused document is not taken for a
	// form older than the saved layer.
	if problem := layerShape(doc); problem != nil {
		out.Errors = append(out.Errors, problem)
		return out, nil
	}
	if _, err := api.ValidateConfigLayer(doc); err != nil {
		out.Errors = append(out.Errors, verbatim(err.Error()))
		return out, nil
	}
	denied, err := fieldsNotOwned(role, byScope[scope], doc)
	if err != nil {
		return out, err
	}
	if len(denied) > 0 {
		out.Errors = append(out.Errors, msg("config.error.fields_not_owned", "fields", strings.Join(denied, ", ")))
		return out, nil
	}
	byScope[scope] = doc
	ts, err := c.st.Terminals(ctx)
	if err != nil {
		return out, err
	}
	for _, r := range fleet.Reach(byScope, scope, ts) {
		t := r.Terminal
		if r.Err != nil {
			out.Errors = append(out.Errors, verbatim(r.Err.Error()))
			continue
		}
		cfg, err := api.ValidateConfig(r.Effective)
		if err != nil {
			out.Errors = append(out.Errors, msg("config.error.terminal_invalid", "terminal", t.Name, "error", err))
			continue
		}
		out.Affected = append(out.Affected, t.Name)
		if out.Preview == nil && len(cfg.Content) > 0 {
			var ct api.Content
			if json.Unmarshal(cfg.Content, &ct) == nil {
				out.Preview = newPreview(t.Name, ct, c.o.Now())
			}
		}
	}
	if out.Preview == nil && len(out.Errors) == 0 {
		// No terminal yet: preview the layer's own content if it is complete.
		if cfg, err := api.ValidateConfig(doc); err == nil && len(cfg.Content) > 0 {
			var ct api.Content
			if json.Unmarshal(cfg.Content, &ct) == nil {
				out.Preview = newPreview("", ct, c.o.Now())
			}
		}
	}
	return out, nil
}

// layerShape bounds a layer document a person pasted before any decoder
// sees it: its size, and how deeply and how long its arrays and objects
// nest (api.TerminalJSON, the limits terminals' JSON has too). It
// returns what is wrong, nil when nothing is.
func layerShape(doc []byte) *Message {
	if len(doc) > api.MaxConfigBytes {
		return msg("config.error.too_large", "size", len(doc), "max", api.MaxConfigBytes)
	}
	switch err := api.TerminalJSON.Check(doc); {
	case errors.Is(err, api.ErrJSONTooDeep):
		return msg("config.error.too_deep", "max", api.TerminalJSON.Depth)
	case err != nil:
		return msg("config.error.too_long", "max", api.TerminalJSON.Elements)
	}
	return nil
}

// preview is what a terminal would show, in the first language.
type preview struct {
	Terminal      string
	Lang          string
	Quarter       string
	Services      []previewItem
	Announcements []previewItem
	Pages         []previewItem
	Surveys       []previewSurvey
	Categories    []string
}

type previewItem struct {
	Title, Body string
	Note        *Message // an announcement's: shown now or not
}

type previewSurvey struct {
	Title     string
	Questions []string
}

func newPreview(terminal string, ct api.Content, now time.Time) *preview {
	lang := "de"
	if len(ct.Languages) > 0 {
		lang = ct.Languages[0]
	}
	tx := func(t api.Text) string { return t.In(lang, "en") }
	p := &preview{Terminal: terminal, Lang: lang, Quarter: tx(ct.Quarter)}
	for _, s := range ct.Services {
		p.Services = append(p.Services, previewItem{Title: tx(s.Title), Body: tx(s.Subtitle)})
	}
	for _, a := range ct.Announcements {
		note := msg("common.shown_now")
		if !a.ValidAt(now) {
			note = msg("config.not_shown_now")
		}
		p.Announcements = append(p.Announcements, previewItem{Title: tx(a.Title), Body: tx(a.Body), Note: note})
	}
	for _, pg := range ct.Pages {
		p.Pages = append(p.Pages, previewItem{Title: tx(pg.Title), Body: tx(pg.Body)})
	}
	for _, s := range ct.Surveys {
		ps := previewSurvey{Title: tx(s.Title)}
		for _, q := range s.Questions {
			ps.Questions = append(ps.Questions, tx(q.Text))
		}
		p.Surveys = append(p.Surveys, ps)
	}
	for _, cat := range ct.ProblemCategories {
		p.Categories = append(p.Categories, tx(cat.Label))
	}
	return p
}
