package updater

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/quartierhub/quartierhub/internal/atomicfile"
	"github.com/quartierhub/quartierhub/kiosk/updater/handoff"
)

// States of the journal (kiosk/updater/handoff defines them, for the
// status the agent reads).
const (
	StateIdle        = handoff.StateIdle
	StateDownloading = handoff.StateDownloading
	StateStaging     = handoff.StateStaging
	StateWaiting     = handoff.StateWaiting
	StateTrying      = handoff.StateTrying
	StateCommitted   = handoff.StateCommitted
	StateRollingBack = handoff.StateRollingBack
)

// maxJournalSize bounds the journal read: it is a few hundred bytes, and
// a larger file is damage, not a journal.
const maxJournalSize = 64 << 10

// Journal is the updater's durable state.
type Journal struct {
	State    string    `json:"state"`
	From     string    `json:"from,omitempty"` // version current pointed at before the switch; "" = the packaged binary
	To       string    `json:"to,omitempty"`
	Deadline time.Time `json:"deadline,omitzero"` // end of the trial
	// Floor is the lowest version the updater will ever install: the
	// newest committed one, kept even when an older binary runs.
	Floor string `json:"floor,omitempty"`
	// Bad lists versions that failed their health gate; never retried.
	Bad []string `json:"bad,omitempty"`
	// Tries counts trials of To that were cut short by a crash or power
	// cut; a version that keeps killing the terminal is marked bad.
	Tries     int    `json:"tries,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// Last is the outcome of the last attempt at To, for the status.
	Last string `json:"last,omitempty"`
}

// Outcomes of an attempt (Journal.Last).
const (
	LastCommitted  = handoff.LastCommitted
	LastRolledBack = handoff.LastRolledBack
	LastFailed     = handoff.LastFailed
)

func (j *Journal) isBad(v string) bool {
	for _, b := range j.Bad {
		if b == v {
			return true
		}
	}
	return false
}

func (j *Journal) markBad(v string) {
	if v != "" && !j.isBad(v) {
		j.Bad = append(j.Bad, v)
	}
}

// ParseJournal decodes a journal, refusing unknown fields, unknown states
// and versions that are not plain semantic versions.
func ParseJournal(data []byte) (Journal, error) {
	var j Journal
	if len(data) > maxJournalSize {
		return j, fmt.Errorf("updater: journal: %d bytes, more than %d", len(data), maxJournalSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return Journal{}, fmt.Errorf("updater: journal: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Journal{}, fmt.Errorf("updater: journal: trailing data")
	}
	switch j.State {
	case StateIdle, StateDownloading, StateStaging, StateWaiting, StateTrying, StateCommitted, StateRollingBack:
	default:
		return Journal{}, fmt.Errorf("updater: journal: unknown state %q", j.State)
	}
	for _, v := range append([]string{j.From, j.To, j.Floor}, j.Bad...) {
		if v != "" && !ValidVersion(v) {
			return Journal{}, fmt.Errorf("updater: journal: invalid version %q", v)
		}
	}
	if (j.State == StateTrying || j.State == StateCommitted || j.State == StateRollingBack) && j.To == "" {
		return Journal{}, fmt.Errorf("updater: journal: state %s without a target version", j.State)
	}
	switch j.Last {
	case "", LastCommitted, LastRolledBack, LastFailed:
	default:
		return Journal{}, fmt.Errorf("updater: journal: unknown outcome %q", j.Last)
	}
	if len(j.Bad) > 1000 || j.Tries < 0 || len(j.LastError) > 4096 {
		return Journal{}, fmt.Errorf("updater: journal: out of bounds")
	}
	return j, nil
}

func readJournal(path string) (Journal, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return Journal{State: StateIdle}, nil
	}
	if err != nil {
		return Journal{}, fmt.Errorf("updater: journal: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxJournalSize+1))
	if err != nil {
		return Journal{}, fmt.Errorf("updater: journal: %w", err)
	}
	return ParseJournal(data)
}

func writeJournal(path string, j Journal) error {
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("updater: journal: %w", err)
	}
	return atomicfile.WriteFile(path, append(data, '\n'), 0o600)
}
