package workshop

import (
	"fmt"
	"strings"

	ws "github.com/quartierhub/quartierhub/internal/workshop"
	"github.com/quartierhub/quartierhub/kiosk/receipt"
)

// DefaultSummaryTop is how many items a summary prints by default.
const DefaultSummaryTop = 5

// ResultsURL is the public results page of a workshop whose join page is
// joinURL (HUB/w/CODE → HUB/w/CODE/results); "" without a join URL.
func ResultsURL(joinURL string) string {
	if joinURL == "" {
		return ""
	}
	return strings.TrimSuffix(joinURL, "/") + "/results"
}

// summaryWords are the receipt's fixed words.
var summaryWords = map[string]map[string]string{
	"de": {"results": "Ergebnis", "round": "Runde %d", "dots": "%d Punkte", "dot": "1 Punkt", "tie": "fast gleichauf", "scan": "Alle Ergebnisse:", "pending": "Vorläufig: noch nicht alle Punkte beim Hub"},
	"en": {"results": "Results", "round": "Round %d", "dots": "%d dots", "dot": "1 dot", "tie": "near tie", "scan": "All results:", "pending": "Provisional: not all dots at the hub yet"},
}

// RevealedRound is the newest round whose totals the moderator revealed,
// or nil.
func RevealedRound(st *ws.State) *ws.Round {
	if st == nil {
		return nil
	}
	for i := len(st.Rounds) - 1; i >= 0; i-- {
		if st.Rounds[i].Revealed {
			return st.Rounds[i]
		}
	}
	return nil
}

// Summary is the printed summary of snap: the question, the top items of
// the newest revealed round with their dots (near ties marked) and a QR
// code of the public results page. ok is false while no round is
// revealed: totals are not printed before everyone may see them.
func Summary(snap Snapshot, lang string, top int) (r receipt.Receipt, ok bool) {
	if snap.Info == nil || snap.State == nil {
		return receipt.Receipt{}, false
	}
	round := RevealedRound(snap.State)
	if round == nil {
		return receipt.Receipt{}, false
	}
	if lang != "de" && lang != "en" {
		lang = snap.Spec.Lang
	}
	w, found := summaryWords[lang]
	if !found {
		w = summaryWords["de"]
	}
	if top <= 0 {
		top = DefaultSummaryTop
	}
	title := snap.Spec.Title
	if title == "" {
		title = snap.Info.Title
	}
	add := func(b receipt.Block) { r.Blocks = append(r.Blocks, b) }
	add(receipt.Block{Kind: receipt.Text, Text: printable(title), Align: receipt.Centre, Bold: true, Size: 2})
	if q := printable(snap.Spec.Question); q != "" {
		add(receipt.Block{Kind: receipt.Text, Text: q, Align: receipt.Centre})
	}
	add(receipt.Block{Kind: receipt.Feed, Lines: 1})
	head := w["results"]
	if len(snap.State.Rounds) > 1 {
		head += " · " + fmt.Sprintf(w["round"], round.N)
	}
	add(receipt.Block{Kind: receipt.Text, Text: head, Bold: true})
	results := snap.State.Tally(round.N)
	pending := false
	for _, d := range snap.State.Dots {
		if d.Round == round.N && d.Status == ws.DotPending {
			pending = true
		}
	}
	for i, res := range results {
		if i == top {
			break
		}
		dots := fmt.Sprintf(w["dots"], res.Dots)
		if res.Dots == 1 {
			dots = w["dot"]
		}
		line := fmt.Sprintf("%d. %s\n   %s", res.Rank, printable(res.Text), dots)
		if res.NearTie {
			line += " (" + w["tie"] + ")"
		}
		add(receipt.Block{Kind: receipt.Text, Text: line})
	}
	if pending {
		add(receipt.Block{Kind: receipt.Text, Text: w["pending"]})
	}
	if url := ResultsURL(snap.Info.JoinURL); url != "" {
		add(receipt.Block{Kind: receipt.Feed, Lines: 1})
		add(receipt.Block{Kind: receipt.Text, Text: w["scan"], Align: receipt.Centre})
		add(receipt.Block{Kind: receipt.QR, Text: url, Align: receipt.Centre})
	}
	add(receipt.Block{Kind: receipt.Feed, Lines: 3})
	add(receipt.Block{Kind: receipt.Cut})
	return r, true
}

// printable drops control characters (an idea is the participants' text)
// so nothing in it reaches the printer as a command.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}
