package workshops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/userr"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// MaxSpecBytes bounds a spec as uploaded (a file for the command line).
const MaxSpecBytes = 64 << 10

// JoinCodeAlphabet has no characters a person confuses when reading a
// code off a screen or typing it on a phone (no 0/O, 1/I/L).
const JoinCodeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// JoinCodeLen is the length of a join code: 31^6 ≈ 887 million codes.
const JoinCodeLen = 6

// joinCodeTries bounds the retries when a new code is already taken.
const joinCodeTries = 8

// DecodeSpec reads a spec as a person wrote it (JSON, at most
// MaxSpecBytes, unknown fields refused), applies the defaults and
// validates it. Its errors may be shown (userr).
func DecodeSpec(b []byte) (workshop.Spec, error) {
	var sp workshop.Spec
	if len(b) > MaxSpecBytes {
		return sp, userr.New(fmt.Sprintf("the workshop's plan is larger than %d KiB", MaxSpecBytes>>10), nil)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sp); err != nil {
		return sp, userr.New("the workshop's plan is not valid JSON: "+err.Error(), err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return sp, userr.New("the workshop's plan has something after its JSON object", nil)
	}
	return ApplyDefaults(sp)
}

// ApplyDefaults fills in what a spec leaves out (method simple, language
// German, voting on ideas, the method's phases) and validates it. Its
// errors may be shown (userr).
func ApplyDefaults(sp workshop.Spec) (workshop.Spec, error) {
	if sp.Method == "" {
		sp.Method = workshop.MethodSimple
	}
	if sp.Lang == "" {
		sp.Lang = "de"
	}
	if sp.VoteOn == "" {
		sp.VoteOn = workshop.OnIdeas
	}
	if len(sp.Phases) == 0 {
		sp.Phases = workshop.DefaultPhasesIn(sp.Method, sp.Tables, sp.Lang)
	}
	if err := sp.Validate(); err != nil {
		return sp, userr.New(err.Error(), err)
	}
	return sp, nil
}

// newJoinCode draws a join code uniformly from JoinCodeAlphabet.
func (s *Service) newJoinCode() (string, error) {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	// Bytes at or above the largest multiple of the alphabet's size are
	// drawn again, so every character is equally likely.
	limit := byte(256 - 256%len(JoinCodeAlphabet))
	code := make([]byte, 0, JoinCodeLen)
	var buf [16]byte
	for len(code) < JoinCodeLen {
		if _, err := io.ReadFull(s.o.Rand, buf[:]); err != nil {
			return "", fmt.Errorf("workshops: join code: %w", err)
		}
		for _, b := range buf {
			if b < limit && len(code) < JoinCodeLen {
				code = append(code, JoinCodeAlphabet[int(b)%len(JoinCodeAlphabet)])
			}
		}
	}
	return string(code), nil
}

// NormalizeJoinCode turns what a person typed into a code as stored:
// upper case, without spaces or dashes. ok is false when it cannot be a code.
func NormalizeJoinCode(typed string) (code string, ok bool) {
	code = strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(typed))
	if len(code) != JoinCodeLen {
		return "", false
	}
	for _, c := range code {
		if !strings.ContainsRune(JoinCodeAlphabet, c) {
			return "", false
		}
	}
	return code, true
}

// Create stores a new draft workshop with spec (defaults applied,
// validated) and a fresh join code, audited as by (a console user's
// name, or the command line's OS user).
func (s *Service) Create(ctx context.Context, spec workshop.Spec, by string) (store.Workshop, error) {
	spec, err := ApplyDefaults(spec)
	if err != nil {
		return store.Workshop{}, err
	}
	return s.create(ctx, by, spec, ActionCreate, "")
}

// Copy stores a new draft workshop with the plan of workshop from (any
// status), a new ID and a new join code, audited as by.
func (s *Service) Copy(ctx context.Context, from, by string) (store.Workshop, error) {
	src, err := s.st.Workshop(ctx, from)
	if err != nil {
		return store.Workshop{}, fmt.Errorf("workshops: copy %s: %w", from, err)
	}
	spec, err := decodeSpec(src.Spec)
	if err != nil {
		return store.Workshop{}, err
	}
	return s.create(ctx, by, spec, ActionCopy, "copy of "+src.ID)
}

func (s *Service) create(ctx context.Context, by string, spec workshop.Spec, action, detail string) (store.Workshop, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return store.Workshop{}, fmt.Errorf("workshops: encode spec: %w", err)
	}
	now := s.o.Now().UTC()
	id, err := s.newULID(now)
	if err != nil {
		return store.Workshop{}, err
	}
	w := store.Workshop{ID: id, Title: spec.Title, Status: StatusDraft, Spec: b, Version: 1, CreatedBy: by, CreatedAt: now, UpdatedAt: now}
	if detail == "" {
		detail = spec.Title
	}
	for try := 0; ; try++ {
		if w.JoinCode, err = s.newJoinCode(); err != nil {
			return store.Workshop{}, err
		}
		err = s.st.CreateWorkshop(ctx, w, store.Audit{At: now, Actor: by, Action: action, Subject: "workshop:" + id, Detail: detail})
		if errors.Is(err, store.ErrJoinCodeTaken) && try < joinCodeTries {
			continue
		}
		if err != nil {
			return store.Workshop{}, fmt.Errorf("workshops: create: %w", err)
		}
		s.o.Logger.Info("workshop created", "workshop", id, "action", action)
		return w, nil
	}
}

// UpdateSpec replaces a draft workshop's plan (defaults applied,
// validated) if it is still at version (else ErrConflict), audited as
// by. ErrNotDraft once it opened. It returns the stored record.
func (s *Service) UpdateSpec(ctx context.Context, id string, spec workshop.Spec, version int64, by string) (store.Workshop, error) {
	spec, err := ApplyDefaults(spec)
	if err != nil {
		return store.Workshop{}, err
	}
	w, err := s.st.Workshop(ctx, id)
	if err != nil {
		return store.Workshop{}, fmt.Errorf("workshops: update %s: %w", id, err)
	}
	if w.Status != StatusDraft {
		return store.Workshop{}, ErrNotDraft
	}
	if w.Version != version {
		return store.Workshop{}, ErrConflict
	}
	// A Phase event stored since opens the workshop whatever the record
	// says yet: the fold decides.
	if v, err := s.Get(ctx, id); err != nil {
		return store.Workshop{}, err
	} else if opened(v.State) {
		return store.Workshop{}, ErrNotDraft
	}
	if w.Spec, err = json.Marshal(spec); err != nil {
		return store.Workshop{}, fmt.Errorf("workshops: encode spec: %w", err)
	}
	now := s.o.Now().UTC()
	w.Title, w.UpdatedAt = spec.Title, now
	w, err = s.st.UpdateWorkshop(ctx, w, store.Audit{At: now, Actor: by, Action: ActionUpdate, Subject: "workshop:" + id, Detail: spec.Title})
	s.forgetRecord(id)
	if errors.Is(err, store.ErrVersionConflict) {
		return store.Workshop{}, ErrConflict
	} else if err != nil {
		return store.Workshop{}, fmt.Errorf("workshops: update %s: %w", id, err)
	}
	return w, nil
}

// List returns every workshop's record, newest first.
func (s *Service) List(ctx context.Context) ([]store.Workshop, error) {
	ws, err := s.st.Workshops(ctx)
	if err != nil {
		return nil, fmt.Errorf("workshops: list: %w", err)
	}
	return ws, nil
}

// ForTerminal returns the open workshops whose plan names the terminal.
func (s *Service) ForTerminal(ctx context.Context, terminalID string) ([]store.Workshop, error) {
	ws, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.Workshop
	for _, w := range ws {
		if w.Status != StatusOpen {
			continue
		}
		sp, err := decodeSpec(w.Spec)
		if err != nil {
			s.o.Logger.Error("workshop spec unreadable", "workshop", w.ID, "err", err)
			continue
		}
		if slices.Contains(sp.Terminals, terminalID) {
			out = append(out, w)
		}
	}
	return out, nil
}

// opened reports whether the fold saw the workshop open (or end).
func opened(st *workshop.State) bool { return st.PhaseIndex >= 0 || st.Ended }
