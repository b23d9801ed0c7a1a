package api

import "errors"

// ValidRecordID reports whether id is a canonical ULID: 26 characters of
// upper-case Crockford base32 whose first character is 0–7.
func ValidRecordID(id string) bool {
	if len(id) != 26 || id[0] > '7' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !crockford[id[i]] {
			return false
		}
	}
	return true
}

var crockford = func() (t [256]bool) {
	for _, c := range "0123456789ABCDEFGHJKMNPQRSTVWXYZ" {
		t[c] = true
	}
	return t
}()

// ValidType reports whether typ is a valid record type: 1–MaxTypeLen
// characters of a-z, 0-9, '.', '_', '-', starting with a letter.
func ValidType(typ string) bool {
	if len(typ) == 0 || len(typ) > MaxTypeLen || typ[0] < 'a' || typ[0] > 'z' {
		return false
	}
	for i := 1; i < len(typ); i++ {
		c := typ[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ValidClass reports whether class is one of the record classes.
func ValidClass(class string) bool {
	return class == ClassResident || class == ClassEvent || class == ClassSensor
}

// Validate checks r against the rules of the terminal API: its ID and
// time, and its type, class and payload as [ValidatePayload] does (r.Payload
// must be JSON text, as a decoder leaves a json.RawMessage; the hub's
// decoder may keep invalid UTF-8 in it, which Validate refuses). It does
// not depend on the clock, so its verdict on a record never changes.
func (r *Record) Validate() error {
	switch {
	case !ValidRecordID(r.ID):
		return errors.New("id is not a canonical ULID")
	case r.CreatedAt.Year() < 2000 || r.CreatedAt.Year() > 2099:
		return errors.New("created_at missing or outside the years 2000-2099")
	}
	return validatePayload(r.Type, r.Class, r.Payload)
}

// isObject reports whether raw, known to be valid JSON, is an object.
func isObject(raw []byte) bool {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c == '{'
	}
	return false
}
