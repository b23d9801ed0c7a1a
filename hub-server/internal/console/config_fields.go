package console

import (
	"fmt"
	"slices"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
)

// layerFields is the one table of who owns which field of a
// configuration layer: field path (section, or section.field as the
// JSON names it in api.Config, api.Content and api.TerminalSettings) →
// the action a user needs to set, change or remove it. Every save path
// (the JSON editor, the announcement form) goes through checkLayer,
// which refuses a layer that changes a field its user's role does not own
// (fieldsNotOwned). TestLayerFieldsCoverAPI keeps the table complete.
//
// Content belongs to moderators, except what decides how the terminal
// treats people and who may service it: the session timing (a session
// that never ends shows the next resident the last one's report) and the
// service cards and PIN (they open the service menu) and the moderator
// cards and PIN (they take a terminal into a workshop). Those, and the
// whole settings section, are terminal settings (admins). They stay in
// the content section because that is where terminals read them.
var layerFields = map[string]Action{
	"content":                         EditContent,
	"content.version":                 EditContent,
	"content.quarter":                 EditContent,
	"content.languages":               EditContent,
	"content.services":                EditContent,
	"content.pages":                   EditContent,
	"content.announcements":           EditContent,
	"content.surveys":                 EditContent,
	"content.problem_categories":      EditContent,
	"content.places":                  EditContent,
	"content.terminal_place":          EditContent,
	"content.help_desk":               EditContent,
	"content.session_timeout_seconds": EditSettings,
	"content.warning_seconds":         EditSettings,
	"content.service_cards":           EditSettings,
	"content.service_pin":             EditSettings,
	"content.moderator_cards":         EditSettings,
	"content.moderator_pin":           EditSettings,
	"settings":                        EditSettings,
	"settings.heartbeat_interval":     EditSettings,
	"settings.sync_interval":          EditSettings,
	"settings.devices":                EditSettings,
	"settings.display":                EditSettings,
}

// unlistedField is the owner of a path the table does not name: a field
// the terminal's types do not know, or one spelt in other letter case
// (which Go's JSON decoding on the terminal would still match to a
// known field). Admins only, so nothing slips past the table.
const unlistedField = EditSettings

// fieldOwner is the action path needs.
func fieldOwner(path string) Action {
	if a, ok := layerFields[path]; ok {
		return a
	}
	return unlistedField
}

// fieldStates is what a layer does to each field path, as fleet.Merge
// applies it to the layers below: absent "" (inherits), removed "null"
// (the field or its section is null), or "=JSON" (canonical value).
// A section that is not an object replaces the lower one whole: its
// fields get "^JSON".
func fieldStates(doc []byte) (map[string]string, error) {
	out := map[string]string{}
	if len(doc) == 0 {
		return out, nil
	}
	v, err := fleet.Decode(doc)
	if err != nil {
		return nil, fmt.Errorf("console: layer: %w", err)
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("console: layer: not a JSON object")
	}
	for sec, sv := range top {
		if sv == nil {
			out[sec] = "null"
			continue
		}
		m, ok := sv.(map[string]any)
		if !ok {
			c, _, err := fleet.Canonical(sv)
			if err != nil {
				return nil, err
			}
			out[sec] = "=" + string(c)
			continue
		}
		out[sec] = "{}"
		for k, fv := range m {
			if fv == nil {
				out[sec+"."+k] = "null"
				continue
			}
			c, _, err := fleet.Canonical(fv)
			if err != nil {
				return nil, err
			}
			out[sec+"."+k] = "=" + string(c)
		}
	}
	return out, nil
}

// stateOf is path's state in states: its own, or what its section does
// to it (null removes it, a non-object replaces it).
func stateOf(states map[string]string, path string) string {
	if s, ok := states[path]; ok {
		return s
	}
	sec, _, child := strings.Cut(path, ".")
	if !child {
		return ""
	}
	switch s := states[sec]; {
	case s == "null":
		return "null"
	case strings.HasPrefix(s, "="):
		return "^" + s[1:]
	}
	return ""
}

// changedFields lists the field paths whose effect differs between the
// old and the new layer document (old empty: no layer yet): set, changed,
// or removed by null or by leaving it out. A section's fields count
// when the section itself is removed or replaced.
func changedFields(old, new []byte) ([]string, error) {
	os, err := fieldStates(old)
	if err != nil {
		return nil, err
	}
	ns, err := fieldStates(new)
	if err != nil {
		return nil, err
	}
	paths := map[string]bool{}
	for p := range layerFields {
		paths[p] = true
	}
	for p := range os {
		paths[p] = true
	}
	for p := range ns {
		paths[p] = true
	}
	var out []string
	for p := range paths {
		if stateOf(os, p) != stateOf(ns, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out, nil
}

// fieldsNotOwned lists the fields the new layer changes that role may
// not change, a section's fields left out when the section itself is
// listed.
func fieldsNotOwned(role string, old, new []byte) ([]string, error) {
	changed, err := changedFields(old, new)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range changed {
		if Can(role, fieldOwner(p)) {
			continue
		}
		if sec, _, ok := strings.Cut(p, "."); ok && len(out) > 0 && out[len(out)-1] == sec {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}
