package api

import (
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

// ErrJSONTooDeep is returned (wrapped) by [CheckJSONDepth].
var ErrJSONTooDeep = errors.New("api: JSON nested too deeply")

// CheckJSONDepth reports an error wrapping [ErrJSONTooDeep] if arrays and
// objects in data nest deeper than max (a flat object is depth 1). It is
// one linear scan with constant memory, meant to run before any decoder
// sees untrusted bytes; it does not otherwise validate the JSON, which is
// the decoder's job. Brackets inside strings do not count.
func CheckJSONDepth(data []byte, max int) error {
	depth := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '[', '{':
			depth++
			if depth > max {
				return fmt.Errorf("%w: more than %d levels at byte %d", ErrJSONTooDeep, max, i)
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		case '"':
			i = stringEnd(data, i+1)
		}
	}
	return nil
}

// stringEnd returns the index of the quote closing the string whose
// contents start at i (len(data) if it is unterminated).
func stringEnd(data []byte, i int) int {
	for ; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++ // the escaped byte, possibly a quote
		case '"':
			return i
		}
	}
	return len(data)
}
