package api

import (
	"bytes"
	"errors"
	"fmt"
)

// MaxJSONDepth is how deeply the hub lets arrays and objects nest in any
// JSON a terminal sends (a batch and the payloads in it, a heartbeat,
// diagnostics, an enrolment or a command result) and in configuration
// documents. Real documents stay below 10; decoders recurse once per
// level, so an unbounded depth lets a few kilobytes of "[[[[…" exhaust
// the stack or take seconds of CPU.
const MaxJSONDepth = 32

// MaxJSONElements is the most values one array, or members one object,
// may hold in that JSON: a batch's records are the largest list. Without
// it a 16 MiB batch of "null,null,…" (a few kilobytes gzipped) decodes
// into millions of records and gigabytes of memory before its record
// count can be checked.
const MaxJSONElements = MaxBatchRecords

// JSONLimits bound the shape of untrusted JSON before it is decoded.
type JSONLimits struct {
	// Depth is the most levels of nested arrays and objects (a flat
	// object is depth 1; 0 allows no array or object at all).
	Depth int
	// Elements is the most values in one array or members in one
	// object; 0 means no limit.
	Elements int
}

// TerminalJSON are the limits on every JSON body a terminal sends and on
// configuration documents.
var TerminalJSON = JSONLimits{Depth: MaxJSONDepth, Elements: MaxJSONElements}

// Errors of [JSONLimits.Check] and [CheckJSONDepth] (wrapped).
var (
	ErrJSONTooDeep = errors.New("api: JSON nested too deeply")
	ErrJSONTooLong = errors.New("api: JSON array or object has too many elements")
)

// CheckJSONDepth reports an error wrapping [ErrJSONTooDeep] if arrays and
// objects in data nest deeper than max. See [JSONLimits.Check].
func CheckJSONDepth(data []byte, max int) error { return JSONLimits{Depth: max}.Check(data) }

// Check reports an error wrapping [ErrJSONTooDeep] or [ErrJSONTooLong]
// if data exceeds l. It is one linear scan with constant memory, meant to
// run before any decoder sees untrusted bytes; it does not otherwise
// validate the JSON, which is the decoder's job. Brackets and commas
// inside strings do not count.
func (l JSONLimits) Check(data []byte) error {
	// Commas seen per open container; only kept when elements are limited.
	var fixed [MaxJSONDepth + 1]int
	var commas []int
	if l.Elements > 0 {
		if l.Depth < len(fixed) {
			commas = fixed[:max(l.Depth, 0)+1]
		} else {
			commas = make([]int, min(l.Depth, len(data))+1)
		}
	}
	depth := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '[', '{':
			depth++
			if depth > l.Depth {
				return fmt.Errorf("%w: more than %d levels at byte %d", ErrJSONTooDeep, l.Depth, i)
			}
			if commas != nil {
				commas[depth] = 0
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		case ',':
			// n commas separate n+1 elements.
			if commas != nil {
				if commas[depth]++; commas[depth] >= l.Elements {
					return fmt.Errorf("%w: more than %d at byte %d", ErrJSONTooLong, l.Elements, i)
				}
			}
		case '"':
			i = stringEnd(data, i+1)
		}
	}
	return nil
}

// stringEnd returns the index of the quote closing the string whose
// contents start at i (len(data) if it is unterminated). Strings are most
// of a batch's bytes: searching for the next quote (vectorised) and
// counting the backslashes before it is faster than looking at each
// byte. A quote is escaped if an odd number of backslashes precede it.
func stringEnd(data []byte, i int) int {
	start := i
	for {
		j := bytes.IndexByte(data[i:], '"')
		if j < 0 {
			return len(data)
		}
		q := i + j
		k := q
		for k > start && data[k-1] == '\\' {
			k--
		}
		if (q-k)%2 == 0 {
			return q
		}
		i = q + 1
	}
}
