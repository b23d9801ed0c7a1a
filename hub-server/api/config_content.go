package api

import (
	"bytes"
	"encoding/json"
)

// validateContent checks a configuration's content section: it must
// decode into [Content] (unknown fields refused, so a typo is not silently
// ignored) and pass [Content.Validate]. This is the one place that ties
// configuration validation to the content types.
func validateContent(raw json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c Content
	if err := dec.Decode(&c); err != nil {
		return err
	}
	return c.Validate()
}
