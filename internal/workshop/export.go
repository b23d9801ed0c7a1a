package workshop

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Exports carry what the workshop produced, not who took part: voters
// appear as pseudonyms numbered in check-in order ("P1", "P2", …), ideas a
// moderator typed in as "moderator", and no card hash, voter ID, device
// or moderator name appears. The event log archive is the exception: it
// is the log itself, for audits.

// ExportModerator is the author shown for ideas a moderator entered.
const ExportModerator = "moderator"

type exportDoc struct {
	Workshop string         `json:"workshop"`
	Title    string         `json:"title"`
	Question string         `json:"question"`
	Lang     string         `json:"lang"`
	Method   string         `json:"method"`
	Phases   []PhaseSpec    `json:"phases"`
	Ended    bool           `json:"ended"`
	Voters   int            `json:"voters"`
	Ideas    []exportIdea   `json:"ideas"`
	Themes   []exportTheme  `json:"themes"`
	Rounds   []exportRound  `json:"rounds"`
	Refused  map[Reason]int `json:"refused,omitempty"`
}

type exportIdea struct {
	ID         string    `json:"id"`
	Text       string    `json:"text"`
	Author     string    `json:"author,omitempty"`
	By         string    `json:"by"` // pseudonym
	Phase      int       `json:"phase"`
	Table      int       `json:"table,omitempty"`
	At         time.Time `json:"at"`
	Theme      string    `json:"theme"` // theme ID, "parking" or ""
	MergedInto string    `json:"merged_into,omitempty"`
	Hidden     bool      `json:"hidden,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Held       bool      `json:"held,omitempty"`
	Late       bool      `json:"late,omitempty"`
	Edited     bool      `json:"edited,omitempty"`
}

type exportTheme struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Ideas []string `json:"ideas"`
}

type exportRound struct {
	N          int            `json:"round"`
	On         string         `json:"on"`
	Dots       int            `json:"dots"`
	MaxPerItem int            `json:"max_per_item"`
	From       int            `json:"from,omitempty"`
	Candidates []string       `json:"candidates,omitempty"`
	Revealed   bool           `json:"revealed"`
	Closed     bool           `json:"closed"`
	ClosedAt   *time.Time     `json:"closed_at,omitempty"`
	Voters     int            `json:"voters"` // who have a counted dot
	Statuses   map[string]int `json:"dot_statuses"`
	Results    []exportResult `json:"results"`
}

type exportResult struct {
	Rank    int      `json:"rank"`
	Item    string   `json:"item"`
	Kind    string   `json:"kind"` // "idea" or "theme"
	Text    string   `json:"text"`
	Theme   string   `json:"theme,omitempty"`
	Dots    int      `json:"dots"`
	NearTie bool     `json:"near_tie"`
	Ideas   []string `json:"ideas,omitempty"`
}

// pseudonyms numbers the voters in check-in order.
func pseudonyms(s *State) map[string]string {
	m := make(map[string]string, len(s.Voters))
	for i, v := range s.Voters {
		m[v.ID] = "P" + strconv.Itoa(i+1)
	}
	return m
}

func exportBy(names map[string]string, actor string) string {
	if strings.HasPrefix(actor, ActorVoterPrefix) {
		if p, ok := names[actor]; ok {
			return p
		}
		return "?"
	}
	return ExportModerator
}

func kindOf(on string) string {
	if on == OnThemes {
		return "theme"
	}
	return "idea"
}

// WriteJSON writes the workshop's outcome: question, phases, ideas,
// themes and every round with its ranked results.
func WriteJSON(w io.Writer, s *State) error {
	names := pseudonyms(s)
	doc := exportDoc{
		Workshop: s.ID, Title: s.Spec.Title, Question: s.Spec.Question, Lang: s.Spec.Lang,
		Method: s.Spec.Method, Phases: s.Spec.Phases, Ended: s.Ended, Voters: len(s.Voters),
		Ideas: []exportIdea{}, Themes: []exportTheme{}, Rounds: []exportRound{},
	}
	for _, i := range s.Ideas {
		doc.Ideas = append(doc.Ideas, exportIdea{
			ID: i.ID, Text: i.Text, Author: i.Author, By: exportBy(names, i.Voter), Phase: i.Phase,
			Table: i.Table, At: i.At, Theme: i.Theme, MergedInto: i.MergedInto, Hidden: i.Hidden,
			Reason: i.Reason, Held: i.Held, Late: i.Late, Edited: i.Edited,
		})
	}
	for _, t := range s.Themes {
		doc.Themes = append(doc.Themes, exportTheme{ID: t.ID, Name: t.Name, Ideas: append([]string{}, t.Ideas...)})
	}
	for _, r := range s.Rounds {
		er := exportRound{N: r.N, On: r.On, Dots: r.Dots, MaxPerItem: r.MaxPerItem, From: r.From,
			Candidates: r.Candidates, Revealed: r.Revealed, Closed: r.Closed, Statuses: map[string]int{},
			Results: []exportResult{}}
		if r.Closed {
			at := r.ClosedAt
			er.ClosedAt = &at
		}
		voted := map[string]bool{}
		for _, d := range s.roundDots[r.N] {
			er.Statuses[string(d.Status)]++
			if d.Status == DotCounted {
				voted[d.Voter] = true
			}
		}
		er.Voters = len(voted)
		for _, res := range s.Tally(r.N) {
			er.Results = append(er.Results, exportResult{Rank: res.Rank, Item: res.Item, Kind: kindOf(r.On),
				Text: res.Text, Theme: res.Theme, Dots: res.Dots, NearTie: res.NearTie, Ideas: res.Ideas})
		}
		doc.Rounds = append(doc.Rounds, er)
	}
	if len(s.Refused) > 0 {
		doc.Refused = map[Reason]int{}
		for _, r := range s.Refused {
			doc.Refused[r.Reason]++
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("workshop: export json: %w", err)
	}
	return nil
}

// CSVHeader is the first row WriteCSV writes.
var CSVHeader = []string{"round", "rank", "item", "kind", "text", "theme", "dots", "near_tie"}

// WriteCSV writes one row per item per round, ranked, after a header
// (RFC 4180: CRLF line ends, quoting where needed). theme is the name of
// an idea's theme ("parking" for the parking lot, empty for none).
// Cells a spreadsheet would read as a formula get a leading apostrophe.
func WriteCSV(w io.Writer, s *State) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("workshop: export csv: %w", err)
	}
	for _, r := range s.Rounds {
		for _, res := range s.Tally(r.N) {
			theme := res.Theme
			if t := s.Theme(theme); t != nil {
				theme = t.Name
			}
			row := []string{strconv.Itoa(r.N), strconv.Itoa(res.Rank), safeCell(res.Item), kindOf(r.On),
				safeCell(res.Text), safeCell(theme), strconv.Itoa(res.Dots), strconv.FormatBool(res.NearTie)}
			if err := cw.Write(row); err != nil {
				return fmt.Errorf("workshop: export csv: %w", err)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("workshop: export csv: %w", err)
	}
	return nil
}

// safeCell defuses formula injection: spreadsheets run a cell starting
// with = + - @ (or a tab or carriage return before one) as a formula.
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteLogArchive writes the events, deduplicated, in fold order (the
// hub's order, then what is not yet stamped), as gzip-compressed JSON
// Lines, and returns the SHA-256 of the bytes written, in hex. The same
// events give the same bytes.
func WriteLogArchive(w io.Writer, events []Event) (string, error) {
	h := sha256.New()
	bw := bufio.NewWriter(io.MultiWriter(w, h))
	zw := gzip.NewWriter(bw)
	for _, e := range orderEvents(events) {
		b, err := json.Marshal(e)
		if err != nil {
			return "", fmt.Errorf("workshop: log archive: %w", err)
		}
		if _, err := zw.Write(append(b, '\n')); err != nil {
			return "", fmt.Errorf("workshop: log archive: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("workshop: log archive: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return "", fmt.Errorf("workshop: log archive: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
