package workshop

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func validEvents(t testing.TB) []Event {
	a := newAuthor(t, 1)
	idea := a.ev("t:T1", "v:abc", TypeIdea, Idea{Text: "Mehr Bänke\nim Park", Phase: 0})
	dot := a.ev("t:T1", "v:abc", TypeDot, Dot{Round: 1, Item: idea.ID})
	return []Event{
		a.ev("t:T1", "v:abc", TypeCheckIn, CheckIn{Via: ViaCard, Label: "Gast 17"}),
		idea, dot,
		a.ev("t:T1", "v:abc", TypeDone, Done{Phase: 0}),
		a.ev("t:T1", "v:abc", TypeDotTake, DotTake{Dot: dot.ID}),
		a.ev("t:T1", "v:abc", TypeLeave, nil),
		a.ev("hub", "m:anna", TypePhase, Phase{Index: 1, Deadline: a.wall, EndsAt: a.wall + 60_000}),
		a.ev("hub", "m:anna", TypePhase, Phase{Index: -1, Deadline: a.wall}),
		a.ev("hub", "m:anna", TypeTimer, Timer{Phase: 1, EndsAt: a.wall + 1000}),
		a.ev("hub", "m:anna", TypeJoin, Join{Open: false}),
		a.ev("hub", "m:anna", TypeRemove, Remove{Voter: "v:abc"}),
		a.ev("hub", "m:anna", TypeHide, Hide{Idea: idea.ID, Reason: "off topic"}),
		a.ev("hub", "m:anna", TypeRestore, Restore{Idea: idea.ID}),
		a.ev("hub", "m:anna", TypeEdit, Edit{Idea: idea.ID, Text: "Mehr Bänke"}),
		a.ev("hub", "m:anna", TypeTheme, Theme{Theme: "green", Name: "Grün"}),
		a.ev("hub", "m:anna", TypeThemeDrop, ThemeDrop{Theme: "green"}),
		a.ev("hub", "m:anna", TypeMove, Move{Idea: idea.ID, To: PlaceParking}),
		a.ev("t:T2", "c:9f3a", TypeMerge, Merge{Idea: idea.ID, Into: dot.ID}),
		a.ev("hub", "m:anna", TypeUnmerge, Unmerge{Merge: dot.ID}),
		a.ev("hub", "m:anna", TypeVote, Vote{Round: 1, On: OnThemes, Dots: 3, MaxPerItem: 2}),
		a.ev("hub", "m:anna", TypeReveal, Reveal{Round: 1}),
		a.ev("hub", "m:anna", TypeLateDots, LateDots{Dots: []string{dot.ID}, Accept: true}),
		a.ev("hub", "m:anna", TypeRunoff, Runoff{From: 1, Round: 2, TopK: 3}),
	}
}

func TestDecodeEventRoundTrip(t *testing.T) {
	for _, e := range validEvents(t) {
		e.HubSeq = 42
		b, err := Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeEvent(b)
		if err != nil {
			t.Fatalf("%s: %v\n%s", e.Type, err, b)
		}
		if mustJSON(t, got) != mustJSON(t, e) {
			t.Errorf("%s: decoded\n%s\nwant\n%s", e.Type, mustJSON(t, got), mustJSON(t, e))
		}
		if _, err := got.Payload(); err != nil {
			t.Errorf("%s: payload: %v", e.Type, err)
		}
	}
}

func TestDecodeEventCanonicalData(t *testing.T) {
	e := validEvents(t)[1]
	b, _ := Encode(e)
	// Whitespace and key order inside data do not survive decoding.
	loose := bytes.Replace(b, e.Data, []byte(`{ "phase": 0, "text": "Mehr Bänke\nim Park" }`), 1)
	got, err := DecodeEvent(loose)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Data, e.Data) {
		t.Errorf("data %s, want %s", got.Data, e.Data)
	}
}

func TestDecodeEventRefuses(t *testing.T) {
	evs := validEvents(t)
	base := evs[1] // an idea
	enc := func(e Event) []byte {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	with := func(f func(e *Event)) []byte {
		e := base
		f(&e)
		return enc(e)
	}
	withData := func(d string) []byte { return with(func(e *Event) { e.Data = json.RawMessage(d) }) }
	cases := map[string][]byte{
		"too big":         append(enc(base), bytes.Repeat([]byte(" "), MaxEventBytes)...),
		"not utf-8":       bytes.Replace(enc(base), []byte("Bänke"), []byte("B\xffnke"), 1),
		"too deep":        withData(`{"text":"x","phase":0,"author":[[[[[1]]]]]}`),
		"unknown field":   bytes.Replace(enc(base), []byte(`"id"`), []byte(`"extra":1,"id"`), 1),
		"unknown in data": withData(`{"text":"x","phase":0,"colour":"red"}`),
		"trailing":        append(enc(base), []byte(` {}`)...),
		"array":           []byte(`[1]`),
		"null":            []byte(`null`),
		"lower-case id":   with(func(e *Event) { e.ID = strings.ToLower(e.ID) }),
		"bad id":          with(func(e *Event) { e.ID = "not-a-ulid" }),
		"workshop chars":  with(func(e *Event) { e.Workshop = "a b" }),
		"workshop long":   with(func(e *Event) { e.Workshop = strings.Repeat("w", 65) }),
		"device":          with(func(e *Event) { e.Device = "phone" }),
		"device empty t":  with(func(e *Event) { e.Device = "t:" }),
		"seq 0":           with(func(e *Event) { e.Seq = 0 }),
		"hlc 0":           with(func(e *Event) { e.HLC.Wall = 0 }),
		"actor prefix":    with(func(e *Event) { e.Actor = "x:abc" }),
		"actor empty":     with(func(e *Event) { e.Actor = "v:" }),
		"actor space":     with(func(e *Event) { e.Actor = "m:anna b" }),
		"type":            with(func(e *Event) { e.Type = "explode" }),
		"no data":         with(func(e *Event) { e.Data = nil }),
		"null data":       withData(`null`),
		"empty text":      withData(`{"text":"  ","phase":0}`),
		"control char":    withData(`{"text":"a\u0007b","phase":0}`),
		"bidi override":   withData(`{"text":"a\u202eb","phase":0}`),
		"long text":       withData(`{"text":"` + strings.Repeat("ä", MaxIdeaText+1) + `","phase":0}`),
		"newline author":  withData(`{"text":"x","author":"a\nb","phase":0}`),
		"phase range":     withData(`{"text":"x","phase":-1}`),
		"string number":   withData(`{"text":"x","phase":"0"}`),
		"label newline":   with(func(e *Event) { e.Type = TypeCheckIn; e.Data = json.RawMessage(`{"via":"card","label":"a\nb"}`) }),
		"via":             with(func(e *Event) { e.Type = TypeCheckIn; e.Data = json.RawMessage(`{"via":"fax","label":"a"}`) }),
		"theme parking":   with(func(e *Event) { e.Type = TypeTheme; e.Data = json.RawMessage(`{"theme":"parking","name":"P"}`) }),
		"merge self": with(func(e *Event) {
			e.Type = TypeMerge
			e.Data = json.RawMessage(`{"idea":"` + base.ID + `","into":"` + base.ID + `"}`)
		}),
		"leave with data": with(func(e *Event) { e.Type = TypeLeave; e.Data = json.RawMessage(`{"why":1}`) }),
		"vote cap": with(func(e *Event) {
			e.Type = TypeVote
			e.Data = json.RawMessage(`{"round":1,"on":"ideas","dots":2,"max_per_item":3}`)
		}),
		"vote dots": with(func(e *Event) {
			e.Type = TypeVote
			e.Data = json.RawMessage(`{"round":1,"on":"ideas","dots":21,"max_per_item":0}`)
		}),
		"round 0":          with(func(e *Event) { e.Type = TypeDot; e.Data = json.RawMessage(`{"round":0,"item":"x"}`) }),
		"runoff backwards": with(func(e *Event) { e.Type = TypeRunoff; e.Data = json.RawMessage(`{"from":2,"round":1,"top_k":3}`) }),
		"late dots empty":  with(func(e *Event) { e.Type = TypeLateDots; e.Data = json.RawMessage(`{"dots":[],"accept":true}`) }),
		"remove non-voter": with(func(e *Event) { e.Type = TypeRemove; e.Data = json.RawMessage(`{"voter":"m:anna"}`) }),
	}
	for name, b := range cases {
		if _, err := DecodeEvent(b); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%s: got %v, want ErrInvalidEvent", name, err)
		}
	}
	// And the base itself is fine, so the cases fail for their change.
	if _, err := DecodeEvent(enc(base)); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeEventAllowsNewlineInIdeas(t *testing.T) {
	e := validEvents(t)[1]
	got, err := DecodeEvent(must(Encode(e)))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := got.Payload()
	if !strings.Contains(p.(Idea).Text, "\n") {
		t.Errorf("newline lost: %q", p.(Idea).Text)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestEncodeLimits(t *testing.T) {
	if _, err := Encode(Idea{Text: strings.Repeat("x", MaxDataBytes)}); err == nil {
		t.Error("oversized data encoded")
	}
	if _, err := Encode(Idea{Text: "x"}); err != nil {
		t.Error(err)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, e := range validEvents(f) {
		e.HubSeq = 7
		f.Add([]byte(must(Encode(e))))
	}
	f.Add([]byte(`{"id":"01ARZ3NDEKTSV4RRFFQ69G5FAV","workshop":"w","device":"hub","seq":1,"hlc":{"wall":1,"logical":0},"actor":"m:a","type":"leave"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEvent(b)
		if err != nil {
			return
		}
		b2, err := Encode(e)
		if err != nil {
			t.Fatalf("decoded event does not encode: %v", err)
		}
		e2, err := DecodeEvent(b2)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", b2, err)
		}
		b3, err := Encode(e2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b2, b3) {
			t.Fatalf("round trip unstable:\n%s\n%s", b2, b3)
		}
		if err := e2.Validate(); err != nil {
			t.Fatalf("decoded event does not validate: %v", err)
		}
	})
}
