package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Record payloads: what every payload must be, and the fields of the
// record types residents create. The hub applies these rules to every
// uploaded record ([Record.Validate]) and a terminal applies the very same
// ones ([ValidatePayload]) before it confirms a record, so that a record a
// resident was told is stored is one the hub will take.
//
// Every payload is a JSON object of at most [MaxPayloadBytes] in valid
// UTF-8, with no control character inside a string and no lone UTF-16
// surrogate escape such as "\ud800": the hub exports payloads as they came,
// and such text would make its export lines invalid UTF-8 or its CSV
// unreadable. The payloads of [RecordProblemReport], [RecordSurveyResponse]
// and [RecordHelpTicket] have class resident and known fields only (a null
// field counts as absent); their texts are plain: at most their limit in
// characters, no control characters but newline and tab.

// RecordHelpTicket is the record a terminal stores for each waiting
// ticket it prints; its payload is a [HelpTicket].
const RecordHelpTicket = "help_ticket"

// HelpTicket is the payload of a help_ticket record.
type HelpTicket struct {
	Number int    `json:"number"` // the waiting number, from 1 each day
	Day    string `json:"day"`    // YYYY-MM-DD, the terminal's local day
}

// Limits of the texts in resident records, in characters (runes). The
// terminal's keyboards stop at them.
const (
	MaxReportText = 500 // a problem report's description
	MaxSurveyText = 500 // a survey's text answer
	MaxPlaceName  = 200 // the place's name copied into a report
)

// ValidatePayload checks a record a terminal is about to store: its type,
// its class and its payload (JSON text) by the rules the hub applies on
// upload. The error says in one line what is wrong.
func ValidatePayload(typ, class string, payload []byte) error {
	if len(payload) <= MaxPayloadBytes && !json.Valid(payload) {
		return errors.New("payload is not valid JSON")
	}
	return validatePayload(typ, class, payload)
}

// validatePayload is ValidatePayload for a payload known to be JSON text.
func validatePayload(typ, class string, payload []byte) error {
	switch {
	case !ValidType(typ):
		return errors.New("type must be 1-64 characters of a-z 0-9 . _ - starting with a letter")
	case !ValidClass(class):
		return fmt.Errorf("class must be %q, %q or %q", ClassResident, ClassEvent, ClassSensor)
	case len(payload) > MaxPayloadBytes:
		return fmt.Errorf("payload larger than %d bytes", MaxPayloadBytes)
	}
	if err := checkJSONText(payload); err != nil {
		return fmt.Errorf("payload: %w", err)
	}
	if !isObject(payload) {
		return errors.New("payload must be a JSON object")
	}
	rule, ok := payloadRules[typ]
	if !ok {
		return nil
	}
	if class != ClassResident {
		return fmt.Errorf("%s: class must be %q", typ, ClassResident)
	}
	if err := rule(payload); err != nil {
		return fmt.Errorf("%s: %w", typ, err)
	}
	return nil
}

// payloadRules check the payloads of the record types residents create.
var payloadRules = map[string]func([]byte) error{
	RecordProblemReport:  checkProblemReport,
	RecordSurveyResponse: checkSurveyResponse,
	RecordHelpTicket:     checkHelpTicket,
}

func checkProblemReport(raw []byte) error {
	m, _, err := readObject(raw, "category", "text", "place", "place_name", "language", "lat", "lon")
	if err != nil {
		return err
	}
	var p ProblemReport
	return oneLine(
		m.id("category", &p.Category, true),
		m.text("text", &p.Text, MaxReportText),
		m.id("place", &p.Place, false),
		m.text("place_name", &p.PlaceName, MaxPlaceName),
		m.language("language", &p.Language),
		m.number("lat", &p.Lat, -90, 90),
		m.number("lon", &p.Lon, -180, 180),
	)
}

func checkSurveyResponse(raw []byte) error {
	m, _, err := readObject(raw, "survey", "respondent", "once", "language", "answers")
	if err != nil {
		return err
	}
	var r SurveyResponse
	errs := []error{
		m.id("survey", &r.Survey, true),
		m.str("respondent", &r.Respondent, true),
		m.str("once", &r.Once, true),
		m.language("language", &r.Language),
	}
	if r.Respondent != "" && !isLowerHex(r.Respondent, 64) {
		errs = append(errs, errors.New(`"respondent" must be 64 lower-case hex digits`))
	}
	if r.Once != "" && r.Once != OncePerCard && r.Once != OncePerSession {
		errs = append(errs, fmt.Errorf(`"once" must be %q or %q`, OncePerCard, OncePerSession))
	}
	if a, ok := m["answers"]; ok && a != nil {
		errs = append(errs, checkAnswers(a))
	}
	return oneLine(errs...)
}

func checkAnswers(raw []byte) error {
	answers, names, err := readObject(raw)
	if err != nil {
		return fmt.Errorf(`"answers": %w`, err)
	}
	var errs []error
	for _, q := range names {
		if !idPattern.MatchString(q) {
			errs = append(errs, fmt.Errorf(`"answers": %s is not a question id`, short(q)))
			continue
		}
		if err := checkAnswer(answers[q]); err != nil {
			errs = append(errs, fmt.Errorf(`answer to %s: %w`, short(q), err))
		}
	}
	return oneLine(errs...)
}

// checkAnswer checks one answer: exactly one of choices (option ids, each
// once), scale (an integer) and text.
func checkAnswer(raw []byte) error {
	m, _, err := readObject(raw, "choices", "scale", "text")
	if err != nil {
		return err
	}
	var (
		a     SurveyAnswer
		scale int
		kinds int
	)
	if v := m["choices"]; v != nil {
		kinds++
		if err := json.Unmarshal(v, &a.Choices); err != nil {
			return errors.New(`"choices" must be a list of option ids`)
		}
		if len(a.Choices) == 0 {
			return errors.New(`"choices" is empty`)
		}
		for i, c := range a.Choices {
			if !idPattern.MatchString(c) {
				return fmt.Errorf(`"choices": %s is not an option id`, short(c))
			}
			if slices.Contains(a.Choices[:i], c) {
				return fmt.Errorf(`"choices": %s chosen twice`, short(c))
			}
		}
	}
	if v := m["scale"]; v != nil {
		kinds++
		if err := json.Unmarshal(v, &scale); err != nil {
			return errors.New(`"scale" must be an integer`)
		}
	}
	if err := m.text("text", &a.Text, MaxSurveyText); err != nil {
		return err
	}
	if a.Text != "" {
		kinds++
	}
	if kinds != 1 {
		return errors.New(`give exactly one of "choices", "scale" and a non-empty "text"`)
	}
	return nil
}

func checkHelpTicket(raw []byte) error {
	m, _, err := readObject(raw, "number", "day")
	if err != nil {
		return err
	}
	var t HelpTicket
	errs := []error{m.str("day", &t.Day, true)}
	if v := m["number"]; v == nil {
		errs = append(errs, errors.New(`"number" is required`))
	} else if json.Unmarshal(v, &t.Number) != nil || t.Number < 1 {
		errs = append(errs, errors.New(`"number" must be a positive integer`))
	}
	if _, err := time.Parse(time.DateOnly, t.Day); t.Day != "" && err != nil {
		errs = append(errs, errors.New(`"day" must be a date YYYY-MM-DD`))
	}
	return oneLine(errs...)
}

// members are a JSON object's members by name, nil for null.
type members map[string]json.RawMessage

// readObject reads a JSON object's members, and their names in order.
// With known names given, any other name is refused; a name given twice
// is always refused (decoders disagree about which one counts).
func readObject(raw []byte, known ...string) (members, []string, error) {
	m := members{}
	var names []string
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, errors.New("must be a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, errors.New("is not valid JSON")
		}
		name, _ := t.(string)
		if len(known) > 0 && !slices.Contains(known, name) {
			return nil, nil, fmt.Errorf("unknown field %s (known: %s)", short(name), strings.Join(known, ", "))
		}
		if _, dup := m[name]; dup {
			return nil, nil, fmt.Errorf("field %s given twice", short(name))
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, errors.New("is not valid JSON")
		}
		if string(v) == "null" {
			v = nil
		}
		m[name] = v
		names = append(names, name)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, errors.New("is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("has data after the object")
	}
	return m, names, nil
}

// oneLine joins the errors that are not nil into one, "; " between them,
// so a terminal can show the reason on one line.
func oneLine(errs ...error) error {
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "; "))
}

// str reads a string member into dst.
func (m members) str(name string, dst *string, required bool) error {
	v := m[name]
	if v == nil {
		if required {
			return fmt.Errorf("%q is required", name)
		}
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("%q must be a string", name)
	}
	if required && *dst == "" {
		return fmt.Errorf("%q is required", name)
	}
	return nil
}

// id reads a member that names something of the terminal's content (a
// category, a place, a survey): an id as content ids are.
func (m members) id(name string, dst *string, required bool) error {
	if err := m.str(name, dst, required); err != nil {
		return err
	}
	if *dst != "" && !idPattern.MatchString(*dst) {
		return fmt.Errorf("%q must be an id: up to 64 of a-z 0-9 _ - (got %s)", name, short(*dst))
	}
	return nil
}

// text reads an optional plain text of at most max characters.
func (m members) text(name string, dst *string, max int) error {
	if err := m.str(name, dst, false); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(*dst); n > max {
		return fmt.Errorf("%q has %d characters, at most %d are allowed", name, n, max)
	}
	for _, r := range *dst {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return fmt.Errorf("%q contains the control character %U", name, r)
		}
	}
	return nil
}

func (m members) language(name string, dst *string) error {
	if err := m.str(name, dst, false); err != nil {
		return err
	}
	if *dst != "" && !ValidLanguage(*dst) {
		return fmt.Errorf("%q must be a language code such as de (got %s)", name, short(*dst))
	}
	return nil
}

// number reads an optional number within [lo, hi].
func (m members) number(name string, dst *float64, lo, hi float64) error {
	v := m[name]
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("%q must be a number", name)
	}
	if *dst < lo || *dst > hi {
		return fmt.Errorf("%q must be from %g to %g", name, lo, hi)
	}
	return nil
}

// ValidLanguage reports whether l is a language code as content and
// records use: 2–8 characters of a-z, 0-9, '-' and '_'.
func ValidLanguage(l string) bool {
	if len(l) < 2 || len(l) > 8 {
		return false
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// short quotes s for an error message, cut to 40 characters.
func short(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// CleanText returns s as a text field of a resident record may hold it:
// valid UTF-8, a CR LF or a lone CR as a newline, no other control
// characters than newline and tab, at most max characters. The terminal
// passes what a resident typed or pasted through it.
func CleanText(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var b strings.Builder
	n := 0
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			continue
		}
		if n == max {
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// checkJSONText checks JSON text for what a JSON decoder may let through
// but an export must not carry: invalid UTF-8, raw control bytes in a
// string and \u escapes of lone UTF-16 surrogates (JSON allows them; they
// encode no character, and decoders turn them into U+FFFD or fail).
func checkJSONText(raw []byte) error {
	if !utf8.Valid(raw) {
		return errors.New("not valid UTF-8")
	}
	if bytes.IndexByte(raw, '\\') < 0 && !hasControl(raw) {
		return nil // the common case: nothing escaped
	}
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !inString {
			inString = c == '"'
			continue
		}
		switch {
		case c == '"':
			inString = false
		case c < 0x20:
			return fmt.Errorf("control character %#02x in a string", c)
		case c == '\\' && i+1 < len(raw) && raw[i+1] == 'u':
			r, ok := hex4(raw[i+2:])
			if !ok {
				return errors.New(`bad \u escape`)
			}
			i += 5 // the last hex digit
			switch {
			case r >= 0xDC00 && r <= 0xDFFF:
				return fmt.Errorf(`lone UTF-16 surrogate \u%04x`, r)
			case r >= 0xD800 && r <= 0xDBFF:
				if i+6 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
					return fmt.Errorf(`lone UTF-16 surrogate \u%04x`, r)
				}
				lo, ok := hex4(raw[i+3:])
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return fmt.Errorf(`lone UTF-16 surrogate \u%04x`, r)
				}
				i += 6
			}
		case c == '\\':
			i++ // the escaped byte, possibly a quote
		}
	}
	return nil
}

func hasControl(raw []byte) bool {
	for _, c := range raw {
		if c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return true
		}
	}
	return false
}

// hex4 decodes the four hex digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
