package workshop

import (
	"encoding/json"
	"unicode/utf8"
)

// The fold decodes every event's Data; encoding/json takes most of a
// fold's time doing so. Data that passed DecodeEvent is a flat, compact
// object, which scanFlat reads directly. Anything it does not expect
// (escapes, nesting, floats, null, unknown or mis-cased keys) sends the
// event to encoding/json instead, so the two paths agree on everything
// scanFlat accepts.

// flatValue is one member of a flat JSON object.
type flatValue struct {
	str   string
	num   int64
	isStr bool
	isNum bool
	isB   bool
	b     bool
}

// scanFlat calls set for each member of a flat JSON object; it returns
// false if data is not such an object or set refuses a member.
func scanFlat(data []byte, set func(key string, v flatValue) bool) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return skipSpace(data, i+1) == len(data)
	}
	for {
		key, j, ok := scanString(data, i)
		if !ok {
			return false
		}
		i = skipSpace(data, j)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipSpace(data, i+1)
		if i >= len(data) {
			return false
		}
		var v flatValue
		switch c := data[i]; {
		case c == '"':
			v.str, i, ok = scanString(data, i)
			v.isStr = true
		case c == '-' || ('0' <= c && c <= '9'):
			v.num, i, ok = scanInt(data, i)
			v.isNum = true
		case c == 't' && len(data) >= i+4 && string(data[i:i+4]) == "true":
			v.isB, v.b, i = true, true, i+4
		case c == 'f' && len(data) >= i+5 && string(data[i:i+5]) == "false":
			v.isB, i = true, i+5
		default:
			return false
		}
		if !ok || !set(key, v) {
			return false
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return skipSpace(data, i+1) == len(data)
		default:
			return false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString reads a string without escapes or control characters.
func scanString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", i, false
	}
	start := i + 1
	ascii := true
	for j := start; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			s := b[start:j]
			if !ascii && !utf8.Valid(s) {
				return "", j, false
			}
			return string(s), j + 1, true
		case c == '\\' || c < 0x20:
			return "", j, false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", len(b), false
}

// scanInt reads an integer as JSON writes it (no leading zeros, no
// fraction or exponent) that fits in 53 bits.
func scanInt(b []byte, i int) (int64, int, bool) {
	neg := false
	if b[i] == '-' {
		neg = true
		i++
	}
	start := i
	var n int64
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		n = n*10 + int64(b[i]-'0')
		if n > 1<<53 {
			return 0, i, false
		}
		i++
	}
	if i == start || (b[start] == '0' && i-start > 1) {
		return 0, i, false
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		return 0, i, false
	}
	if neg {
		n = -n
	}
	return n, i, true
}

// fastPayload decodes the Data of the types that make up most of a log;
// ok is false when the data needs encoding/json.
func fastPayload(t Type, data []byte) (p any, ok bool) {
	intField := func(dst *int) func(flatValue) bool {
		return func(v flatValue) bool {
			if !v.isNum || v.num > 1<<31-1 || v.num < -(1<<31) {
				return false
			}
			*dst = int(v.num)
			return true
		}
	}
	strField := func(dst *string) func(flatValue) bool {
		return func(v flatValue) bool { *dst = v.str; return v.isStr }
	}
	switch t {
	case TypeDot:
		var d Dot
		ok = scanFlat(data, func(k string, v flatValue) bool {
			switch k {
			case "round":
				return intField(&d.Round)(v)
			case "item":
				return strField(&d.Item)(v)
			}
			return false
		})
		return d, ok
	case TypeDotTake:
		var d DotTake
		ok = scanFlat(data, func(k string, v flatValue) bool {
			return k == "dot" && strField(&d.Dot)(v)
		})
		return d, ok
	case TypeMove:
		var m Move
		ok = scanFlat(data, func(k string, v flatValue) bool {
			switch k {
			case "idea":
				return strField(&m.Idea)(v)
			case "to":
				return strField(&m.To)(v)
			}
			return false
		})
		return m, ok
	case TypeIdea:
		var d Idea
		ok = scanFlat(data, func(k string, v flatValue) bool {
			switch k {
			case "text":
				return strField(&d.Text)(v)
			case "author":
				return strField(&d.Author)(v)
			case "phase":
				return intField(&d.Phase)(v)
			case "table":
				return intField(&d.Table)(v)
			}
			return false
		})
		return d, ok
	}
	return nil, false
}

// lenientPayload is the fold's decoder: fastPayload where it can,
// encoding/json otherwise.
func lenientPayload(t Type, data []byte) (any, error) {
	if v, ok := fastPayload(t, data); ok {
		return v, nil
	}
	p := newPayload(t)
	if err := json.Unmarshal(data, p); err != nil {
		return nil, err
	}
	return derefPayload(p), nil
}
