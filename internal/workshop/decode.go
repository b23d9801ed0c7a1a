package workshop

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"
)

// Further limits of the event format.
const (
	MaxPhases      = 32    // phases in a spec; Phase and Done index below it
	MaxRounds      = 20    // voting rounds in one workshop
	MaxLateDots    = 1_000 // dots one LateDots event decides on
	MaxTopK        = 50    // items a runoff keeps
	MaxTables      = 12    // café tables
	MaxLabel       = 40    // characters of a voter's label
	maxEventDepth  = 4     // JSON nesting: event → data → dots array, event → hlc
	maxActorSuffix = 64    // characters after an actor's prefix (console user names are up to 64)
)

// ErrInvalidEvent is wrapped by every error DecodeEvent and Validate
// return.
var ErrInvalidEvent = errors.New("workshop: invalid event")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidEvent, fmt.Sprintf(format, args...))
}

// DecodeEvent parses one event from untrusted bytes: at most
// MaxEventBytes of valid UTF-8, nested at most a few levels, no unknown
// fields and nothing after the object, the envelope and the type's Data
// valid (see Validate). The returned event's Data is re-encoded in its
// canonical form, so decoding what Encode made of it gives it back.
func DecodeEvent(b []byte) (Event, error) {
	var e Event
	if len(b) > MaxEventBytes {
		return e, invalid("%d bytes, at most %d", len(b), MaxEventBytes)
	}
	if !utf8.Valid(b) {
		return e, invalid("not UTF-8")
	}
	if err := checkDepth(b, maxEventDepth); err != nil {
		return e, err
	}
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return e, invalid("not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Event{}, invalid("data after the event")
	}
	p, err := e.strictPayload()
	if err != nil {
		return Event{}, err
	}
	if err := e.validateEnvelope(); err != nil {
		return Event{}, err
	}
	if p == nil {
		e.Data = nil
	} else if e.Data, err = json.Marshal(p); err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	return e, nil
}

// Encode marshals an event or a payload: an Event (or *Event) is held to
// MaxEventBytes, anything else, meant as an event's Data, to MaxDataBytes.
func Encode(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("workshop: encode: %w", err)
	}
	limit := MaxDataBytes
	switch v.(type) {
	case Event, *Event:
		limit = MaxEventBytes
	}
	if len(b) > limit {
		return nil, fmt.Errorf("workshop: encode: %d bytes, at most %d", len(b), limit)
	}
	return b, nil
}

// Validate checks the envelope (IDs, device, actor, sequence, clock) and
// that Data strictly fits the type. It does not check what the fold
// decides (phases, permissions, limits of the workshop).
func (e Event) Validate() error {
	if err := e.validateEnvelope(); err != nil {
		return err
	}
	_, err := e.strictPayload()
	return err
}

// Payload returns Data decoded into the type's struct (a value such as
// Idea or Dot), or nil for a type without data.
func (e Event) Payload() (any, error) { return e.strictPayload() }

func (e Event) validateEnvelope() error {
	if !ValidULID(e.ID) {
		return invalid("id %q is not a ULID", clip(e.ID))
	}
	if !ValidID(e.Workshop) {
		return invalid("workshop %q: want 1 to %d of A-Z a-z 0-9 _ -", clip(e.Workshop), MaxIDLen)
	}
	if e.Device != DeviceHub {
		t, ok := strings.CutPrefix(e.Device, DeviceTerminalPrefix)
		if !ok || !ValidID(t) {
			return invalid("device %q: want %q or %q and a terminal ID", clip(e.Device), DeviceHub, DeviceTerminalPrefix)
		}
	}
	if e.Seq == 0 {
		return invalid("seq 0: sequences start at 1")
	}
	if e.HLC.Wall <= 0 || e.HLC.Wall > maxWall {
		return invalid("hlc wall %d out of range", e.HLC.Wall)
	}
	if !ValidActor(e.Actor) {
		return invalid("actor %q: want %q, %q or %q and 1 to %d letters, digits or . _ @ -", clip(e.Actor),
			ActorVoterPrefix, ActorModeratorPrefix, ActorCardPrefix, maxActorSuffix)
	}
	if !ModeratorType(e.Type) && !ParticipantType(e.Type) {
		return invalid("unknown type %q", clip(string(e.Type)))
	}
	if len(e.Data) > MaxDataBytes {
		return invalid("data of %d bytes, at most %d", len(e.Data), MaxDataBytes)
	}
	return nil
}

// maxWall is the year 9999: clocks beyond it are broken, not early.
const maxWall = 253402300799999

// strictPayload decodes Data for e.Type refusing unknown fields and
// checks each field.
func (e Event) strictPayload() (any, error) { return e.payload(true) }

// payload decodes Data for e.Type and checks each field; strict refuses
// unknown fields and data after the object. The fold decodes without:
// its events passed DecodeEvent once, and the lenient decoder is about
// twice as fast.
func (e Event) payload(strict bool) (any, error) {
	if e.Type == TypeLeave {
		if d := bytes.TrimSpace(e.Data); len(d) != 0 && !bytes.Equal(d, []byte("null")) && !bytes.Equal(d, []byte("{}")) {
			return nil, invalid("leave carries no data")
		}
		return nil, nil
	}
	if !ModeratorType(e.Type) && !ParticipantType(e.Type) {
		return nil, invalid("unknown type %q", clip(string(e.Type)))
	}
	if d := bytes.TrimSpace(e.Data); len(d) == 0 || bytes.Equal(d, []byte("null")) {
		return nil, invalid("%s needs data", e.Type)
	}
	var p any
	var err error
	if strict {
		p = newPayload(e.Type)
		dec := json.NewDecoder(bytes.NewReader(e.Data))
		dec.DisallowUnknownFields()
		if err = dec.Decode(p); err != nil {
			return nil, fmt.Errorf("%w: %s data: %w", ErrInvalidEvent, e.Type, err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, invalid("%s data: more after the object", e.Type)
		}
		p = derefPayload(p)
	} else if p, err = lenientPayload(e.Type, e.Data); err != nil {
		return nil, fmt.Errorf("%w: %s data: %w", ErrInvalidEvent, e.Type, err)
	}
	v := p
	if err := checkPayload(v); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidEvent, e.Type, err)
	}
	return v, nil
}

// newPayload returns a pointer to a new payload for t, nil if t has none.
func newPayload(t Type) any {
	switch t {
	case TypeCheckIn:
		return new(CheckIn)
	case TypeIdea:
		return new(Idea)
	case TypeDone:
		return new(Done)
	case TypeDot:
		return new(Dot)
	case TypeDotTake:
		return new(DotTake)
	case TypePhase:
		return new(Phase)
	case TypeTimer:
		return new(Timer)
	case TypeJoin:
		return new(Join)
	case TypeRemove:
		return new(Remove)
	case TypeHide:
		return new(Hide)
	case TypeRestore:
		return new(Restore)
	case TypeEdit:
		return new(Edit)
	case TypeTheme:
		return new(Theme)
	case TypeThemeDrop:
		return new(ThemeDrop)
	case TypeMove:
		return new(Move)
	case TypeMerge:
		return new(Merge)
	case TypeUnmerge:
		return new(Unmerge)
	case TypeVote:
		return new(Vote)
	case TypeReveal:
		return new(Reveal)
	case TypeLateDots:
		return new(LateDots)
	case TypeRunoff:
		return new(Runoff)
	}
	return nil
}

func derefPayload(p any) any {
	switch v := p.(type) {
	case *CheckIn:
		return *v
	case *Idea:
		return *v
	case *Done:
		return *v
	case *Dot:
		return *v
	case *DotTake:
		return *v
	case *Phase:
		return *v
	case *Timer:
		return *v
	case *Join:
		return *v
	case *Remove:
		return *v
	case *Hide:
		return *v
	case *Restore:
		return *v
	case *Edit:
		return *v
	case *Theme:
		return *v
	case *ThemeDrop:
		return *v
	case *Move:
		return *v
	case *Merge:
		return *v
	case *Unmerge:
		return *v
	case *Vote:
		return *v
	case *Reveal:
		return *v
	case *LateDots:
		return *v
	case *Runoff:
		return *v
	}
	return nil
}

// checkPayload checks one decoded payload's fields against the format's
// limits.
func checkPayload(p any) error {
	switch v := p.(type) {
	case CheckIn:
		if v.Via != ViaCard && v.Via != ViaGuest && v.Via != ViaPhone {
			return fmt.Errorf("via %q: want card, guest or phone", clip(v.Via))
		}
		return checkText("label", v.Label, MaxLabel, false, true)
	case Idea:
		if err := checkText("text", v.Text, MaxIdeaText, true, true); err != nil {
			return err
		}
		if err := checkText("author", v.Author, MaxAuthorName, false, false); err != nil {
			return err
		}
		if v.Phase < 0 || v.Phase >= MaxPhases {
			return fmt.Errorf("phase %d out of range", v.Phase)
		}
		if v.Table < 0 || v.Table > MaxTables {
			return fmt.Errorf("table %d out of range", v.Table)
		}
	case Done:
		if v.Phase < 0 || v.Phase >= MaxPhases {
			return fmt.Errorf("phase %d out of range", v.Phase)
		}
	case Dot:
		if err := checkRound("round", v.Round); err != nil {
			return err
		}
		if !ValidID(v.Item) {
			return fmt.Errorf("item %q is not an ID", clip(v.Item))
		}
	case DotTake:
		return checkULID("dot", v.Dot)
	case Phase:
		if v.Index < -1 || v.Index >= MaxPhases {
			return fmt.Errorf("index %d out of range", v.Index)
		}
		if v.Deadline < 0 || v.Deadline > maxWall || v.EndsAt < 0 || v.EndsAt > maxWall {
			return errors.New("deadline or ends_at out of range")
		}
	case Timer:
		if v.Phase < 0 || v.Phase >= MaxPhases {
			return fmt.Errorf("phase %d out of range", v.Phase)
		}
		if v.EndsAt < 0 || v.EndsAt > maxWall {
			return errors.New("ends_at out of range")
		}
	case Join:
	case Remove:
		if !strings.HasPrefix(v.Voter, ActorVoterPrefix) || !ValidActor(v.Voter) {
			return fmt.Errorf("voter %q is not a voter ID", clip(v.Voter))
		}
	case Hide:
		if err := checkULID("idea", v.Idea); err != nil {
			return err
		}
		return checkText("reason", v.Reason, MaxReason, false, false)
	case Restore:
		return checkULID("idea", v.Idea)
	case Edit:
		if err := checkULID("idea", v.Idea); err != nil {
			return err
		}
		return checkText("text", v.Text, MaxIdeaText, true, true)
	case Theme:
		if err := checkThemeID(v.Theme); err != nil {
			return err
		}
		return checkText("name", v.Name, MaxThemeName, false, true)
	case ThemeDrop:
		return checkThemeID(v.Theme)
	case Move:
		if err := checkULID("idea", v.Idea); err != nil {
			return err
		}
		if v.To != PlaceUnsorted && v.To != PlaceParking && !ValidID(v.To) {
			return fmt.Errorf("to %q: want a theme ID, %q or \"\"", clip(v.To), PlaceParking)
		}
	case Merge:
		if err := checkULID("idea", v.Idea); err != nil {
			return err
		}
		if err := checkULID("into", v.Into); err != nil {
			return err
		}
		if v.Idea == v.Into {
			return errors.New("an idea cannot be merged into itself")
		}
	case Unmerge:
		return checkULID("merge", v.Merge)
	case Vote:
		if err := checkRound("round", v.Round); err != nil {
			return err
		}
		if v.On != OnIdeas && v.On != OnThemes {
			return fmt.Errorf("on %q: want ideas or themes", clip(v.On))
		}
		if v.Dots < 0 || v.Dots > MaxDotsPerVoter {
			return fmt.Errorf("dots %d: want 0 (the default) to %d", v.Dots, MaxDotsPerVoter)
		}
		if v.MaxPerItem < 0 || v.MaxPerItem > MaxDotsPerVoter || (v.Dots > 0 && v.MaxPerItem > v.Dots) {
			return fmt.Errorf("max_per_item %d: want 0 (no cap) to dots", v.MaxPerItem)
		}
	case Reveal:
		return checkRound("round", v.Round)
	case LateDots:
		if len(v.Dots) == 0 || len(v.Dots) > MaxLateDots {
			return fmt.Errorf("%d dots: want 1 to %d", len(v.Dots), MaxLateDots)
		}
		for _, d := range v.Dots {
			if err := checkULID("dot", d); err != nil {
				return err
			}
		}
	case Runoff:
		if err := checkRound("from", v.From); err != nil {
			return err
		}
		if err := checkRound("round", v.Round); err != nil {
			return err
		}
		if v.Round <= v.From {
			return errors.New("round must come after from")
		}
		if v.TopK < 2 || v.TopK > MaxTopK {
			return fmt.Errorf("top_k %d: want 2 to %d", v.TopK, MaxTopK)
		}
	default:
		return errors.New("unknown payload")
	}
	return nil
}

func checkRound(name string, n int) error {
	if n < 1 || n > MaxRounds {
		return fmt.Errorf("%s %d: want 1 to %d", name, n, MaxRounds)
	}
	return nil
}

func checkULID(name, s string) error {
	if !ValidULID(s) {
		return fmt.Errorf("%s %q is not a ULID", name, clip(s))
	}
	return nil
}

func checkThemeID(s string) error {
	if !ValidID(s) || s == PlaceParking {
		return fmt.Errorf("theme %q: want 1 to %d of A-Z a-z 0-9 _ -, not %q", clip(s), MaxIDLen, PlaceParking)
	}
	return nil
}

// checkText checks a text field: valid UTF-8, at most max characters, no
// control characters (a newline only where newline is true), no bidi
// overrides that could disguise it; required texts must not be blank.
func checkText(name, s string, max int, newline, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return fmt.Errorf("%s is empty", name)
	}
	if err := textProblem(s, max, newline); err != "" {
		return fmt.Errorf("%s: %s", name, err)
	}
	return nil
}

func textProblem(s string, max int, newline bool) string {
	if !utf8.ValidString(s) {
		return "not UTF-8"
	}
	n := 0
	for _, r := range s {
		n++
		if r == '\n' && newline {
			continue
		}
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) || bidiControl(r) {
			return fmt.Sprintf("control character U+%04X", r)
		}
	}
	if n > max {
		return fmt.Sprintf("%d characters, at most %d", n, max)
	}
	return ""
}

func bidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F || r == 0x061C
}

// ValidID reports whether s is a workshop, theme or terminal ID: 1 to
// MaxIDLen of A-Z a-z 0-9 _ -.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ValidULID reports whether s is a ULID in its canonical (upper case)
// spelling, so that one event has one ID.
func ValidULID(s string) bool {
	if len(s) != ulid.EncodedSize {
		return false
	}
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			return false // the canonical spelling is upper case
		}
	}
	_, err := ulid.ParseStrict(s)
	return err == nil
}

// ValidActor reports whether s is "v:", "m:" or "c:" followed by 1 to
// 64 letters, digits or . _ @ - (console user names are of these).
func ValidActor(s string) bool {
	rest, ok := strings.CutPrefix(s, ActorVoterPrefix)
	if !ok {
		if rest, ok = strings.CutPrefix(s, ActorModeratorPrefix); !ok {
			if rest, ok = strings.CutPrefix(s, ActorCardPrefix); !ok {
				return false
			}
		}
	}
	if rest == "" {
		return false
	}
	if asciiActor(rest) {
		return len(rest) <= maxActorSuffix
	}
	if !utf8.ValidString(rest) {
		return false
	}
	n := 0
	for _, r := range rest {
		n++
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '@' || r == '-') {
			return false
		}
	}
	return n <= maxActorSuffix
}

// asciiActor reports whether s is all ASCII letters, digits or . _ @ -,
// which most actors are (hex voter IDs, plain user names).
func asciiActor(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '@' || c == '-') {
			return false
		}
	}
	return true
}

// checkDepth refuses JSON nested deeper than max, in one pass before any
// decoder allocates for it; brackets inside strings do not count.
func checkDepth(b []byte, max int) error {
	depth := 0
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			if depth++; depth > max {
				return invalid("nested deeper than %d", max)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// clip shortens what an error quotes from untrusted input.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	i := 40
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
