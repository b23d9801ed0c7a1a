package workshop

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// exportWorkshop: two rounds (a vote and a runoff), themes, a merge, and
// ideas whose texts would be formulas or need quoting.
func exportWorkshop(t *testing.T) (*ws, *State) {
	spec := simpleSpec()
	spec.Dots = 3
	w := newWS(t, spec)
	const card = "v:0123456789abcdef0123"
	w.deliver(w.term("t:T1", card, TypeCheckIn, CheckIn{Via: ViaCard, Label: "Karte"}))
	w.hub("v:phone1", TypeCheckIn, CheckIn{Via: ViaPhone, Label: "Gast 2"})
	w.phase(0)
	texts := []string{"=HYPERLINK(\"http://x\")", "+1 Bank", "Bäume, \"schattig\"\nund kühl", "@home", "-minus", "Radweg"}
	var ideas []Event
	for i, text := range texts {
		voter := card
		if i%2 == 1 {
			voter = "v:phone1"
		}
		ideas = append(ideas, w.hub(voter, TypeIdea, Idea{Text: text, Phase: 0}))
	}
	ideas = append(ideas, w.deliver(w.term("t:T1", "c:cardhash9f", TypeIdea, Idea{Text: "vom Flipchart", Phase: 0}))[0])
	w.phase(1)
	w.hub("m:anna", TypeTheme, Theme{Theme: "green", Name: "=Grün"})
	w.hub("m:anna", TypeMove, Move{Idea: ideas[2].ID, To: "green"})
	w.hub("m:anna", TypeMerge, Merge{Idea: ideas[5].ID, Into: ideas[2].ID})
	w.phase(2)
	for i, id := range []int{0, 2, 2, 3, 5} {
		voter := card
		if i%2 == 1 {
			voter = "v:phone1"
		}
		w.hub(voter, TypeDot, Dot{Round: 1, Item: ideas[id].ID})
	}
	w.phase(3)
	w.hub("m:anna", TypeReveal, Reveal{Round: 1})
	w.hub("m:anna", TypeRunoff, Runoff{From: 1, Round: 2, TopK: 2})
	w.hub(card, TypeDot, Dot{Round: 2, Item: ideas[2].ID})
	return w, w.fold()
}

func TestWriteJSONHasOutcomeNotIdentities(t *testing.T) {
	w, s := exportWorkshop(t)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, s); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, secret := range []string{"v:0123456789abcdef0123", "v:phone1", "cardhash9f", "m:anna", "t:T1", "\"hub\""} {
		if strings.Contains(out, secret) {
			t.Errorf("export contains %q", secret)
		}
	}
	var doc exportDoc
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Question != w.spec.Question || len(doc.Phases) != len(w.spec.Phases) || len(doc.Ideas) != len(s.Ideas) || len(doc.Themes) != 1 {
		t.Errorf("export: question %q, %d phases, %d ideas, %d themes", doc.Question, len(doc.Phases), len(doc.Ideas), len(doc.Themes))
	}
	if len(doc.Rounds) != 2 {
		t.Fatalf("%d rounds", len(doc.Rounds))
	}
	for _, r := range doc.Rounds {
		tally := s.Tally(r.N)
		if len(r.Results) != len(tally) {
			t.Fatalf("round %d: %d results, tally %d", r.N, len(r.Results), len(tally))
		}
		for i, res := range r.Results {
			if res.Item != tally[i].Item || res.Dots != tally[i].Dots || res.Rank != tally[i].Rank || res.NearTie != tally[i].NearTie {
				t.Errorf("round %d result %d: %+v, tally %+v", r.N, i, res, tally[i])
			}
		}
	}
	by := map[string]int{}
	for _, i := range doc.Ideas {
		by[i.By]++
	}
	if by["P1"] != 3 || by["P2"] != 3 || by[ExportModerator] != 1 {
		t.Errorf("authors as pseudonyms: %v", by)
	}
}

func TestWriteCSV(t *testing.T) {
	_, s := exportWorkshop(t)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\r\n") {
		t.Error("rows do not end in CRLF")
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") {
		t.Errorf("header %v", rows[0])
	}
	want := 0
	for _, r := range s.Rounds {
		want += len(s.Tally(r.N))
	}
	if len(rows)-1 != want {
		t.Fatalf("%d rows, want %d", len(rows)-1, want)
	}
	row := 1
	for _, r := range s.Rounds {
		for _, res := range s.Tally(r.N) {
			got := rows[row]
			row++
			if got[0] != strconv.Itoa(r.N) || got[1] != strconv.Itoa(res.Rank) || got[2] != res.Item || got[6] != strconv.Itoa(res.Dots) || got[7] != strconv.FormatBool(res.NearTie) {
				t.Errorf("row %v for %+v", got, res)
			}
			text := got[4]
			if strings.ContainsAny(res.Text[:1], "=+-@") {
				if text != "'"+res.Text {
					t.Errorf("formula not defused: %q", text)
				}
			} else if text != res.Text {
				t.Errorf("text %q, want %q (quotes, commas, newlines kept)", text, res.Text)
			}
			if res.Theme == "green" && got[5] != "'=Grün" {
				t.Errorf("theme cell %q", got[5])
			}
		}
	}
}

func TestWriteLogArchive(t *testing.T) {
	w, _ := exportWorkshop(t)
	pending := w.term("t:T1", "v:0123456789abcdef0123", TypeDone, Done{Phase: 0})
	evs := append(append([]Event(nil), w.log...), pending)
	var buf bytes.Buffer
	sum, err := WriteLogArchive(&buf, evs)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(buf.Bytes())
	if sum != hex.EncodeToString(h[:]) {
		t.Errorf("returned %s, the bytes hash to %x", sum, h)
	}
	zr, err := gzip.NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != len(evs) {
		t.Fatalf("%d lines, %d events", len(lines), len(evs))
	}
	var last uint64
	for i, l := range lines {
		e, err := DecodeEvent([]byte(l))
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if i < len(w.log) && (e.HubSeq <= last || e.ID != w.log[i].ID) {
			t.Errorf("line %d out of hub order", i)
		}
		last = e.HubSeq
	}
	if e, _ := DecodeEvent([]byte(lines[len(lines)-1])); e.ID != pending.ID || e.HubSeq != 0 {
		t.Errorf("the unstamped event is not last")
	}
	// The same events in another order, with duplicates: the same bytes.
	shuffled := append(append([]Event(nil), evs...), evs[:5]...)
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	var again bytes.Buffer
	sum2, err := WriteLogArchive(&again, shuffled)
	if err != nil || sum2 != sum || !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Errorf("archive depends on the order given (%v)", err)
	}
}
