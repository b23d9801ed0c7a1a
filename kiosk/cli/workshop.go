package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quartierhub/quartierhub/internal/userr"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

const workshopUsage = `usage: kiosk workshop SUBCOMMAND --data DIR [--json] …

  status [--voter V]        the workshop this terminal shows (and voter V's part)
  checkin --card UID        check a card in (its keyed hash goes to the workshop)
  checkin --guest           check a new guest in; prints the voter ID and label
  idea --voter V [--author NAME] [--table N] TEXT
                            add an idea (a first name in a workshop with named
                            ideas; the café table, 1 to the café's tables)
  dot --voter V ITEM        place a dot on an idea or theme of the current round
  undot --voter V DOT       take a dot back
  done --voter V            "I'm done" with the current phase
  print [--lang de|en]      print the results summary on the receipt printer
`

// cmdWorkshop is `kiosk workshop …`: every action a terminal offers in a
// workshop, over the local API.
func cmdWorkshop(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, workshopUsage)
		if len(args) == 0 {
			return errors.New("a subcommand is required")
		}
		return nil
	}
	sub := args[0]
	fs := newFlags("workshop "+sub, stderr)
	dir := fs.String("data", "", "the agent's data directory")
	asJSON := fs.Bool("json", false, "print JSON")
	var voter, card, lang, author *string
	var guest *bool
	var table *int
	switch sub {
	case "status":
		voter = fs.String("voter", "", "show this voter's part")
	case "checkin":
		card = fs.String("card", "", "the card's UID")
		guest = fs.Bool("guest", false, "a new guest")
	case "idea", "dot", "undot", "done":
		voter = fs.String("voter", "", "the voter ID (from checkin)")
		if sub == "idea" {
			author = fs.String("author", "", "the writer's first name (workshops with named ideas)")
			table = fs.Int("table", 0, "the café table (1 to the café's tables; 0: the terminal's own)")
		}
	case "print":
		lang = fs.String("lang", "", "the receipt's language (de, en; default the workshop's)")
	default:
		fmt.Fprint(stderr, workshopUsage)
		return fmt.Errorf("unknown subcommand %q", sub)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	d, err := needDir(*dir)
	if err != nil {
		return err
	}
	c := localapi.NewClient(d)
	needVoter := func() error {
		if *voter == "" {
			return errors.New("--voter V is required")
		}
		return nil
	}
	oneArg := func(what string) (string, error) {
		if fs.NArg() == 0 {
			return "", fmt.Errorf("%s is required", what)
		}
		return strings.Join(fs.Args(), " "), nil
	}
	var out any
	var text string
	switch sub {
	case "status":
		v, err := c.Workshop(ctx, *voter)
		if err != nil {
			return workshopCLIErr(err)
		}
		out, text = v, workshopText(v)
	case "checkin":
		req := localapi.WorkshopCheckinRequest{CardUID: *card, Guest: *guest}
		if (*card == "") == !*guest {
			return errors.New("either --card UID or --guest")
		}
		r, err := c.WorkshopCheckin(ctx, req)
		if err != nil {
			return workshopCLIErr(err)
		}
		out, text = r, fmt.Sprintf("%s\t%s%s\n", r.Voter, r.Label, pendingMark(r.Pending))
	case "idea":
		if err := needVoter(); err != nil {
			return err
		}
		t, err := oneArg("TEXT")
		if err != nil {
			return err
		}
		r, err := c.WorkshopIdea(ctx, localapi.WorkshopIdeaRequest{Voter: *voter, Text: t, Author: *author, Table: *table})
		if err != nil {
			return workshopCLIErr(err)
		}
		late := ""
		if r.Late {
			late = " (late)"
		}
		out, text = r, fmt.Sprintf("%s%s%s\n", r.ID, pendingMark(r.Pending), late)
	case "dot", "undot":
		if err := needVoter(); err != nil {
			return err
		}
		what := "ITEM"
		if sub == "undot" {
			what = "DOT"
		}
		arg, err := oneArg(what)
		if err != nil {
			return err
		}
		var r localapi.WorkshopDotResponse
		if sub == "dot" {
			r, err = c.WorkshopDot(ctx, localapi.WorkshopDotRequest{Voter: *voter, Item: arg})
		} else {
			r, err = c.WorkshopDotTake(ctx, localapi.WorkshopDotTakeRequest{Voter: *voter, Dot: arg})
		}
		if err != nil {
			return workshopCLIErr(err)
		}
		out, text = r, fmt.Sprintf("%s\t%s\t%d left\n", r.ID, r.Status, r.DotsLeft)
	case "done":
		if err := needVoter(); err != nil {
			return err
		}
		if err := c.WorkshopDone(ctx, localapi.WorkshopDoneRequest{Voter: *voter}); err != nil {
			return workshopCLIErr(err)
		}
		out, text = struct{}{}, "done\n"
	case "print":
		r, err := c.WorkshopPrint(ctx, localapi.WorkshopPrintRequest{Lang: *lang})
		if err != nil {
			return workshopCLIErr(err)
		}
		out, text = r, fmt.Sprintf("printed (%d bytes)\n", r.Bytes)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	_, err = io.WriteString(stdout, text)
	return err
}

// workshopCLIErr adds a refusal's code to its message, for scripts.
func workshopCLIErr(err error) error {
	var we *localapi.WorkshopError
	if errors.As(err, &we) {
		return userr.New(fmt.Sprintf("%s (%s)", we.Message, we.Code), err)
	}
	return err
}

func pendingMark(p bool) string {
	if p {
		return " (pending)"
	}
	return ""
}

// workshopText is the status for people.
func workshopText(v localapi.WorkshopView) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	if !v.Active {
		fmt.Fprintln(tw, "workshop\tnone on this terminal")
		for _, a := range v.Available {
			fmt.Fprintf(tw, "available\t%s (%s)\n", a.Title, a.ID)
		}
		tw.Flush()
		return b.String()
	}
	fmt.Fprintf(tw, "workshop\t%s (%s)\n", v.Title, v.ID)
	if v.Question != "" {
		fmt.Fprintf(tw, "question\t%s\n", v.Question)
	}
	phase := "not started"
	switch {
	case v.Ended:
		phase = "ended"
	case v.Phase != nil:
		phase = fmt.Sprintf("%d/%d %s %q", v.Phase.Index+1, v.Phase.Count, v.Phase.Kind, v.Phase.Title)
		if !v.Phase.EndsAt.IsZero() {
			phase += ", ends " + v.Phase.EndsAt.Local().Format(time.TimeOnly)
		}
	}
	fmt.Fprintf(tw, "phase\t%s\n", phase)
	hub := "offline"
	if v.Online {
		hub = "online"
	}
	fmt.Fprintf(tw, "hub\t%s, %d queued, last heard %s\n", hub, v.Queued, ago(v.LastSync))
	fmt.Fprintf(tw, "counts\t%d voters, %d ideas, %d done, %d dots\n", v.Counts.Voters, v.Counts.Ideas, v.Counts.Done, v.Counts.Dots)
	if v.JoinURL != "" {
		fmt.Fprintf(tw, "join\t%s\n", v.JoinURL)
	}
	for _, i := range v.Ideas {
		mark := ""
		if i.Pending {
			mark += " (pending)"
		}
		if i.MergedInto != "" {
			mark += " (duplicate of " + i.MergedInto + ")"
		}
		if i.Late {
			mark += " (late)"
		}
		fmt.Fprintf(tw, "idea %s\t%s%s\n", i.ID, i.Text, mark)
	}
	for _, t := range v.Themes {
		fmt.Fprintf(tw, "theme %s\t%s (%d ideas)\n", t.ID, t.Name, len(t.Ideas))
	}
	if r := v.Round; r != nil {
		state := "open"
		if r.Closed {
			state = "closed"
		}
		if r.Revealed {
			state += ", revealed"
		}
		fmt.Fprintf(tw, "round\t%d on %s, %d dots each, %s\n", r.N, r.On, r.Dots, state)
	}
	for _, res := range v.Results {
		tie := ""
		if res.NearTie {
			tie = " (near tie)"
		}
		fmt.Fprintf(tw, "result %d\t%s: %d%s\n", res.Rank, res.Text, res.Dots, tie)
	}
	if me := v.Me; me != nil {
		fmt.Fprintf(tw, "voter\t%s %s%s, %d ideas, %d dots left, done %v\n", me.Voter, me.Label, pendingMark(me.Pending), me.Ideas, me.DotsLeft, me.Done)
		for _, d := range me.Dots {
			fmt.Fprintf(tw, "dot %s\ton %s, %s\n", d.ID, d.Item, d.Status)
		}
	}
	tw.Flush()
	return b.String()
}
