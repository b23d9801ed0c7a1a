package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/atomicfile"
	"github.com/quartierhub/quartierhub/kiosk/receipt"
)

// ticketCounter draws the day's waiting numbers from DATA/tickets.json:
// each number is on disk before it is handed out, so numbers stay unique
// per terminal and day across restarts; a new day starts at 1.
type ticketCounter struct {
	path string
	now  func() time.Time

	mu sync.Mutex // one draw at a time
}

// ticketState is the file's content.
type ticketState struct {
	Day  string `json:"day"`
	Last int    `json:"last"`
}

// next draws the next number of today (local time, YYYY-MM-DD).
func (c *ticketCounter) next() (number int, day string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	day = c.now().Local().Format("2006-01-02")
	var st ticketState
	if b, err := os.ReadFile(c.path); err == nil {
		_ = json.Unmarshal(b, &st) // unreadable: start the day again
	}
	if st.Day != day {
		st = ticketState{Day: day}
	}
	st.Last++
	b, _ := json.Marshal(st)
	if err := atomicfile.WriteFile(c.path, b, 0o600); err != nil {
		return 0, "", fmt.Errorf("agent: ticket: %w", err)
	}
	return st.Last, day, nil
}

// issuedTicket is a waiting number drawn, stored and printed.
type issuedTicket struct {
	Number int
	Day    string
	// RecordID is the help_ticket record in the outbox.
	RecordID string
}

// issueTicket draws the next number, stores it as a help_ticket record
// and prints tmpl with the number filled in. Without a printer, or with a
// bad receipt, no number is drawn.
func (a *Agent) issueTicket(ctx context.Context, tmpl receipt.Receipt) (issuedTicket, error) {
	if err := a.win.printer.available(); err != nil {
		return issuedTicket{}, err
	}
	if _, err := toEscpos(tmpl); err != nil {
		return issuedTicket{}, err
	}
	n, day, err := a.win.tickets.next()
	if err != nil {
		return issuedTicket{}, err
	}
	ob, _, err := a.parts()
	if err != nil {
		return issuedTicket{}, err
	}
	rec, err := storeRecord(ctx, ob, api.RecordHelpTicket, "", map[string]any{"number": n, "day": day})
	if err != nil {
		return issuedTicket{}, err
	}
	if _, err := a.win.printer.print(ctx, tmpl.WithNumber(n)); err != nil {
		return issuedTicket{}, err
	}
	return issuedTicket{Number: n, Day: day, RecordID: rec.ID}, nil
}
