package backend

import (
	"errors"

	ws "github.com/quartierhub/quartierhub/internal/workshop"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

// WorkshopOf is the local API's view as the workshop screens show it:
// the items of a round with their texts, the voter's dots sorted to
// their items, totals only once revealed.
func WorkshopOf(v localapi.WorkshopView) Workshop {
	w := Workshop{Active: v.Active, ID: v.ID, Title: v.Title, Question: v.Question, JoinURL: v.JoinURL,
		Online: v.Online, Queued: v.Queued, Started: v.Started, Ended: v.Ended, JoinOpen: v.JoinOpen, Named: v.Named,
		MaxIdeaChars: v.MaxIdeaChars, Tables: v.Tables, Voters: v.Counts.Voters, Done: v.Counts.Done, IdeaCount: v.Counts.Ideas}
	if p := v.Phase; p != nil {
		w.Phase = Phase{Index: p.Index, Count: p.Count, Kind: p.Kind, Title: p.Title, EndsAt: p.EndsAt, Round: p.Round}
	}
	ideas := map[string]Idea{}
	texts := map[string]string{}
	for _, i := range v.Ideas {
		if !v.Named {
			i.Author = "" // the agent keeps none then; nothing else is shown as a name
		}
		idea := Idea{ID: i.ID, Text: i.Text, Author: i.Author, Theme: i.Theme, Mine: i.Mine, Pending: i.Pending}
		ideas[i.ID], texts[i.ID] = idea, i.Text
		if i.MergedInto != "" {
			continue // its dots and place follow the surviving idea
		}
		w.Ideas = append(w.Ideas, idea)
	}
	for _, t := range v.Themes {
		th := Theme{ID: t.ID, Name: t.Name}
		for _, id := range t.Ideas {
			if i, ok := ideas[id]; ok {
				th.Ideas = append(th.Ideas, i)
			}
		}
		w.Themes = append(w.Themes, th)
		texts[t.ID] = t.Name
	}
	if r := v.Round; r != nil {
		w.Round = &Round{N: r.N, OnThemes: r.On == "themes", Dots: r.Dots, MaxPerItem: r.MaxPerItem, Revealed: r.Revealed, Closed: r.Closed}
		totals := map[string]int{}
		for _, res := range v.Results {
			totals[res.Item] = res.Dots
		}
		for _, id := range r.Items {
			it := VoteItem{ID: id, Text: texts[id], Author: ideas[id].Author, Total: -1}
			if r.Revealed {
				it.Total = totals[id]
			}
			if v.Me != nil {
				for _, d := range v.Me.Dots {
					if d.Item == id {
						it.Mine = append(it.Mine, Dot{ID: d.ID, Status: d.Status})
					}
				}
			}
			w.Items = append(w.Items, it)
		}
	}
	if v.Round == nil || v.Round.Revealed {
		for _, res := range v.Results {
			w.Results = append(w.Results, Result{Rank: res.Rank, Text: res.Text, Author: ideas[res.Item].Author, Dots: res.Dots, NearTie: res.NearTie})
		}
	}
	if m := v.Me; m != nil {
		w.Me = &Me{Voter: m.Voter, Label: m.Label, DotsLeft: m.DotsLeft, Done: m.Done, Pending: m.Pending, Removed: m.Removed}
	}
	for _, a := range v.Available {
		w.Open = append(w.Open, Choice{ID: a.ID, Title: a.Title, Current: v.Active && a.ID == v.ID})
	}
	return w
}

// WorkshopRefusal is the code of the workshop refusal in err's chain
// (a workshop.Reason or a localapi.Code* constant), or "" if err is
// none (a broken connection, a fault of the agent).
func WorkshopRefusal(err error) string {
	var we *localapi.WorkshopError
	if errors.As(err, &we) {
		return we.Code
	}
	if errors.Is(err, localapi.ErrPrinter) {
		return localapi.CodePrinter
	}
	if errors.Is(err, localapi.ErrInvalid) {
		// The workshop's "invalid" is the local API's own code too, which
		// the client answers as ErrInvalid (a table the café lacks).
		return string(ws.ReasonInvalid)
	}
	return ""
}

// WorkshopRefusals are the codes the window has words for: the
// workshop.Reason values and the local API's own.
var WorkshopRefusals = []string{
	string(ws.ReasonNotOpen), string(ws.ReasonWrongPhase), string(ws.ReasonNotCheckedIn), string(ws.ReasonJoinClosed),
	string(ws.ReasonRemoved), string(ws.ReasonTooMany), string(ws.ReasonUnknownItem), string(ws.ReasonNotAllowed),
	string(ws.ReasonInvalid), string(ws.ReasonDuplicate), string(ws.ReasonNoPhones), string(ws.ReasonMergeCycle),
	localapi.CodeNoWorkshop, localapi.CodeUnknownVoter, localapi.CodeBadCredentials, localapi.CodeNoSuchWorkshop,
	localapi.CodeTooLong, localapi.CodeNoDotsLeft, localapi.CodeItemCap, localapi.CodeRecovering, localapi.CodePrinter,
}
