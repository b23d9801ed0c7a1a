package workshop

// How the fold decides conflicts between devices.
//
//   - Order: stamped events count in the hub's order (HubSeq), the same
//     for everyone; what a device holds unstamped comes after, marked
//     Pending. A terminal's events keep their own order (Seq) within
//     that: one stamped before an earlier one of the same terminal that
//     is in the log waits for it (a terminal sends by live socket and by
//     outbox, so the hub may receive them crosswise).
//   - Dots: a voter's live dots of a round are walked in that order; the
//     first ones within the round's dots and the per-item cap count, the
//     rest are DotOverLimit (one card over-spending on two offline
//     terminals). Taking a dot back frees its place for the next one in
//     order. Unstamped dots are DotPending. The cap applies to the item a
//     dot counts for after merges, so merging two ideas one voter dotted
//     can put one of those dots over the cap (it comes back when the
//     merge is undone).
//   - Last writer wins by HLC (tie: Device, then event ID), whatever the
//     hub order, for an idea's place (Move; dropping a theme sends its
//     ideas back to unsorted as of the drop), its text (Edit), a theme's
//     name (Theme) and a round's settings (Vote). Two moderators dragging
//     the same idea end with the same result on every device.
//   - Merges: an idea merged into another counts for the end of the merge
//     chain (DotState.Counts); undoing a merge restores where its dots
//     count; a merge that would close a cycle is refused
//     (ReasonMergeCycle), as is merging an idea that already is a
//     duplicate (ReasonInvalid: unmerge it first).
//   - Closing: the Phase event that leaves a phase carries its deadline.
//     Ideas written (by their HLC) after the deadline of their ideas phase
//     are Late (the late lane) until a moderator moves them; dots written
//     after their round's deadline are DotLate until a LateDots event
//     accepts (they then count like others, in their order) or rejects
//     them (DotRejected). Entering a phase again reopens it.
//   - Dots stop counting (DotVoid) when their voter is removed or their
//     item is hidden, held by the word list, parked, dropped, not of the
//     round's kind or not among a runoff's candidates; they do not use up
//     the voter's dots.
//
// Other moderator events (phase, timer, join, remove, hide, restore,
// merge, unmerge, reveal, late dots, runoff) take effect in fold order.

// lwwKey orders writes for last-writer-wins: HLC, then Device, then ID.
type lwwKey struct {
	hlc    HLC
	device string
	id     string
}

func keyOf(e Event) lwwKey { return lwwKey{hlc: e.HLC, device: e.Device, id: e.ID} }

func (k lwwKey) compare(o lwwKey) int {
	if c := k.hlc.Compare(o.hlc); c != 0 {
		return c
	}
	switch {
	case k.device < o.device:
		return -1
	case k.device > o.device:
		return 1
	case k.id < o.id:
		return -1
	case k.id > o.id:
		return 1
	}
	return 0
}

func (k lwwKey) after(o lwwKey) bool { return k.compare(o) > 0 }

// voterItem is a voter's dots on one item.
type voterItem struct{ voter, item string }

// resolveRound sets the status and counted item of each of the round's
// dots from what the fold knows now.
func (f *folder) resolveRound(r *Round) {
	s := f.s
	used := map[string]int{}
	perItem := map[voterItem]int{}
	closedAt := r.ClosedAt.UnixMilli()
	for _, d := range f.roundDots[r.N] {
		d.Counts = s.countsFor(r, d.Item)
		late := r.Closed && d.at > closedAt
		switch v := s.voterIdx[d.Voter]; {
		case d.taken:
			d.Status = DotTaken
		case v == nil || v.Removed:
			d.Status = DotVoid
		case !s.eligible(r, d.Item):
			d.Status = DotVoid
		case late && d.decision == decReject:
			d.Status = DotRejected
		case late && d.decision != decAccept:
			d.Status = DotLate
		case d.pending:
			d.Status = DotPending
		default:
			k := voterItem{d.Voter, d.Counts}
			if used[d.Voter] < r.Dots && (r.MaxPerItem == 0 || perItem[k] < r.MaxPerItem) {
				d.Status = DotCounted
				used[d.Voter]++
				perItem[k]++
			} else {
				d.Status = DotOverLimit
			}
		}
	}
}

// root follows an idea's merges to the idea that survives (the find of
// a union-find; chains are remembered until the merges change).
func (s *State) root(id string) string {
	if s.parent[id] == "" {
		return id
	}
	if r, ok := s.roots[id]; ok {
		return r
	}
	r := id
	for n := 0; s.parent[r] != "" && n <= MaxIdeas; n++ {
		r = s.parent[r]
	}
	if !s.folded { // a folded State is read concurrently: finish filled the memo
		if s.roots == nil {
			s.roots = map[string]string{}
		}
		s.roots[id] = r
	}
	return r
}

// countsFor is the item a dot on item counts for in round r.
func (s *State) countsFor(r *Round, item string) string {
	if r.On == OnIdeas {
		return s.root(item)
	}
	return item
}

// eligible reports whether a dot on item can count in round r.
func (s *State) eligible(r *Round, item string) bool {
	if r.On == OnThemes {
		if s.themeIdx[item] == nil {
			return false
		}
	} else {
		if s.ideaIdx[item] == nil {
			return false
		}
		item = s.root(item)
		if i := s.ideaIdx[item]; !i.Visible() || i.Theme == PlaceParking {
			return false
		}
	}
	if r.Candidates != nil {
		for _, c := range r.Candidates {
			if c == item {
				return true
			}
		}
		return false
	}
	return true
}
