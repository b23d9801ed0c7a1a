package fleet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// The layering rule. A terminal's effective configuration is the merge of
// up to three layers, lowest first: global, quarter:QUARTER,
// terminal:NAME. Merging an upper layer into a lower one:
//
//   - objects merge key by key, recursively;
//   - arrays and scalars (strings, numbers, booleans) replace the lower
//     value as a whole — a list of services is set in one layer, never
//     spliced;
//   - null removes the key from the result (a quarter can drop a global
//     announcement section).
//
// The version of an effective configuration is the hex SHA-256 (first 16
// bytes) of its canonical JSON (object keys sorted, no insignificant
// space, numbers as written): equal documents have equal versions, so the
// version serves as a stable ETag.

// Merge returns upper merged into lower by the rule above. Neither input
// is modified.
func Merge(lower, upper any) any {
	lo, lok := lower.(map[string]any)
	up, uok := upper.(map[string]any)
	if !lok || !uok {
		return upper
	}
	out := make(map[string]any, len(lo)+len(up))
	for k, v := range lo {
		out[k] = v
	}
	for k, v := range up {
		if v == nil {
			delete(out, k)
			continue
		}
		if prev, ok := out[k]; ok {
			out[k] = Merge(prev, v)
		} else {
			out[k] = stripNulls(v)
		}
	}
	return out
}

// stripNulls removes null members of objects, as a merge onto nothing would.
func stripNulls(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		if x != nil {
			out[k] = stripNulls(x)
		}
	}
	return out
}

// Decode parses a JSON document keeping numbers as written.
func Decode(doc []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the JSON document")
	}
	return v, nil
}

// Canonical returns v's canonical JSON and its version.
func Canonical(v any) ([]byte, string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, "", err
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:16]), nil
}

// Effective merges layer documents, lowest first, into the canonical
// effective document and its version. An empty list gives {}.
func Effective(layers ...[]byte) ([]byte, string, error) {
	var acc any = map[string]any{}
	for _, l := range layers {
		v, err := Decode(l)
		if err != nil {
			return nil, "", fmt.Errorf("fleet: config layer: %w", err)
		}
		acc = Merge(acc, v)
	}
	return Canonical(acc)
}

// Scopes returns the scopes that make up a terminal's configuration,
// lowest first.
func Scopes(quarter, name string) []string {
	return []string{store.ScopeGlobal, store.ScopeQuarterPrefix + quarter, store.ScopeTerminalPrefix + name}
}

// effectiveOf merges the layers of byScope that make up the configuration
// of the terminal named name in quarter.
func effectiveOf(byScope map[string][]byte, quarter, name string) ([]byte, string, error) {
	var docs [][]byte
	for _, s := range Scopes(quarter, name) {
		if d, ok := byScope[s]; ok {
			docs = append(docs, d)
		}
	}
	return Effective(docs...)
}

// Reached is a terminal a layer reaches, with its effective configuration
// or the reason the layers do not merge.
type Reached struct {
	Terminal  store.Terminal
	Effective []byte
	Err       error
}

// Reach computes the effective configuration of every terminal among ts
// that is not revoked and whose configuration includes the layer at
// scope, from byScope (scope to layer document, the changed layer already
// in place). Both the CLI and the console check a new layer this way
// before it is saved, so no terminal is sent a document it must refuse.
func Reach(byScope map[string][]byte, scope string, ts []store.Terminal) []Reached {
	var out []Reached
	for _, t := range ts {
		scopes := Scopes(t.Quarter, t.Name)
		if t.Revoked() || (scope != store.ScopeGlobal && scope != scopes[1] && scope != scopes[2]) {
			continue
		}
		eff, _, err := effectiveOf(byScope, t.Quarter, t.Name)
		out = append(out, Reached{Terminal: t, Effective: eff, Err: err})
	}
	return out
}

// ConfigStore is what Configs needs of the store.
type ConfigStore interface {
	ConfigLayers(ctx context.Context) ([]store.ConfigLayer, error)
	ConfigGeneration(ctx context.Context) (int64, error)
}

// ConfigsOpts configures Configs. Zero values are the defaults.
type ConfigsOpts struct {
	// CheckEvery is how often the store is asked whether a layer changed
	// (the CLI writes from another process). Default 1s; negative: on
	// every call.
	CheckEvery time.Duration
	Now        func() time.Time
}

// Configs serves effective configurations from memory: layers are loaded
// once per generation, and an effective document is computed once per
// (quarter, terminal layer) — terminals without their own layer share
// their quarter's document, so 50,000 terminals cost a few documents.
type Configs struct {
	st ConfigStore
	o  ConfigsOpts

	mu      sync.Mutex
	gen     int64
	checked time.Time
	loaded  bool
	layers  map[string][]byte
	cache   map[string]api.ConfigDocument
}

// NewConfigs returns a cache on st.
func NewConfigs(st ConfigStore, o ConfigsOpts) *Configs {
	if o.CheckEvery == 0 {
		o.CheckEvery = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Configs{st: st, o: o}
}

// For returns the effective configuration of the terminal named name in
// quarter.
func (c *Configs) For(ctx context.Context, quarter, name string) (api.ConfigDocument, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.refresh(ctx); err != nil {
		return api.ConfigDocument{}, err
	}
	scopes := Scopes(quarter, name)
	key := scopes[1]
	if _, own := c.layers[scopes[2]]; own {
		key = scopes[2]
	}
	if d, ok := c.cache[key]; ok {
		return d, nil
	}
	doc, version, err := effectiveOf(c.layers, quarter, name)
	if err != nil {
		return api.ConfigDocument{}, err
	}
	d := api.ConfigDocument{Version: version, Document: doc}
	c.cache[key] = d
	return d, nil
}

func (c *Configs) refresh(ctx context.Context) error {
	now := c.o.Now()
	if c.loaded && c.o.CheckEvery > 0 && now.Sub(c.checked) < c.o.CheckEvery && !now.Before(c.checked) {
		return nil
	}
	gen, err := c.st.ConfigGeneration(ctx)
	if err != nil {
		return fmt.Errorf("fleet: config: %w", err)
	}
	c.checked = now
	if c.loaded && gen == c.gen {
		return nil
	}
	ls, err := c.st.ConfigLayers(ctx)
	if err != nil {
		return fmt.Errorf("fleet: config: %w", err)
	}
	c.layers = make(map[string][]byte, len(ls))
	for _, l := range ls {
		c.layers[l.Scope] = l.Document
	}
	c.cache = map[string]api.ConfigDocument{}
	c.gen, c.loaded = gen, true
	return nil
}
