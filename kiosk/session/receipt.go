package session

import (
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/receipt"
)

// Reference is the short code a resident gets for a report (XXXX-XXXX,
// from the record id's random tail). It is the hub's own function, so the
// receipt and the hub's status page and console cannot drift apart.
func Reference(recordID string) string { return api.ReportReference(recordID) }

// StatusURL is the hub's public status page of a report.
func StatusURL(hubURL, ref string) string {
	if hubURL == "" {
		return ""
	}
	return strings.TrimRight(hubURL, "/") + api.StatusPath(ref)
}

// Tr translates a key with placeholder pairs in the session's language.
type Tr func(key string, args ...any) string

func text(s string, bold bool, size int, align string) receipt.Block {
	return receipt.Block{Kind: receipt.Text, Text: s, Bold: bold, Size: size, Align: align}
}

// ReportReceipt is the receipt for a problem report.
func ReportReceipt(tr Tr, quarter, ref, category, place, statusURL string, at time.Time) receipt.Receipt {
	r := receipt.Receipt{Blocks: []receipt.Block{
		text(tr("receipt.report.title"), true, 1, "centre"),
		text(quarter, false, 1, "centre"),
		{Kind: receipt.Feed, Lines: 1},
		text(tr("receipt.report.reference"), false, 1, "centre"),
		text(ref, true, 2, "centre"),
		{Kind: receipt.Feed, Lines: 1},
		text(tr("receipt.report.category", "category", category), false, 1, "left"),
		text(tr("receipt.report.place", "place", place), false, 1, "left"),
		text(tr("receipt.date", "date", at.Format("02.01.2006 15:04")), false, 1, "left"),
	}}
	if statusURL != "" {
		r.Blocks = append(r.Blocks,
			receipt.Block{Kind: receipt.Feed, Lines: 1},
			text(tr("receipt.report.status"), false, 1, "centre"),
			receipt.Block{Kind: receipt.QR, Text: statusURL, Align: "centre"},
			text(statusURL, false, 1, "centre"))
	}
	r.Blocks = append(r.Blocks, text(tr("receipt.thanks"), false, 1, "centre"),
		receipt.Block{Kind: receipt.Feed, Lines: 3}, receipt.Block{Kind: receipt.Cut})
	return r
}

// TicketReceipt is the waiting ticket; the agent fills in {number}.
func TicketReceipt(tr Tr, desk, hours string, at time.Time) receipt.Receipt {
	r := receipt.Receipt{Blocks: []receipt.Block{
		text(desk, true, 1, "centre"),
		{Kind: receipt.Feed, Lines: 1},
		text(tr("receipt.ticket.number"), false, 1, "centre"),
		text(receipt.NumberPlaceholder, true, 4, "centre"),
		{Kind: receipt.Feed, Lines: 1},
		text(tr("receipt.date", "date", at.Format("02.01.2006 15:04")), false, 1, "centre"),
	}}
	if hours != "" {
		r.Blocks = append(r.Blocks, text(tr("receipt.ticket.hours", "hours", hours), false, 1, "centre"))
	}
	r.Blocks = append(r.Blocks, text(tr("receipt.ticket.wait"), false, 1, "centre"),
		receipt.Block{Kind: receipt.Feed, Lines: 3}, receipt.Block{Kind: receipt.Cut})
	return r
}

// TestReceipt is the service menu's test print.
func TestReceipt(tr Tr, terminal string, at time.Time) receipt.Receipt {
	return receipt.Receipt{Blocks: []receipt.Block{
		text(tr("receipt.test.title"), true, 2, "centre"),
		text(terminal, false, 1, "centre"),
		text("ÄÖÜ äöü ß € – „“", false, 1, "centre"),
		text(at.Format("2006-01-02 15:04:05"), false, 1, "centre"),
		{Kind: receipt.QR, Text: "https://quartierhub.example/test", Align: "centre"},
		{Kind: receipt.Feed, Lines: 3}, {Kind: receipt.Cut},
	}}
}
