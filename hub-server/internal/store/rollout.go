package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// ErrRolloutActive: another rollout is running, paused or halted; it must
// be stopped or finish before a new one starts.
var ErrRolloutActive = errors.New("store: another rollout is active")

// Rollout states. Running, paused and halted are active; done and
// stopped are final.
const (
	RolloutRunning = "running"
	RolloutPaused  = "paused"
	RolloutHalted  = "halted"
	RolloutDone    = "done"
	RolloutStopped = "stopped"
)

// States of a terminal in a rollout: the updater's states a terminal
// reports, plus silent (no heartbeat for the offline threshold while
// not in a final state). Pending also covers a terminal whose stage has
// not opened yet (OfferedAt zero).
const (
	MemberPending          = api.UpdaterPending
	MemberDownloading      = api.UpdaterDownloading
	MemberWaitingForWindow = api.UpdaterWaitingForWindow
	MemberInstalling       = api.UpdaterInstalling
	MemberTrial            = api.UpdaterTrial
	MemberDone             = api.UpdaterDone
	MemberRolledBack       = api.UpdaterRolledBack
	MemberFailed           = api.UpdaterFailed
	MemberSilent           = "silent"
)

// MemberFailing reports whether a terminal in state counts against the
// rollout's failure thresholds.
func MemberFailing(state string) bool {
	return state == MemberRolledBack || state == MemberFailed || state == MemberSilent
}

// MemberFinal reports whether state is final: done, rolled back or failed.
func MemberFinal(state string) bool {
	return state == MemberDone || state == MemberRolledBack || state == MemberFailed
}

// Release is a version a rollout may name, with the TUF target name of
// its artifact.
type Release struct {
	Version string
	Target  string
	AddedAt time.Time
	AddedBy string
}

// Stage is one step of a rollout: the canary stage (Percent 0: the
// canary terminals) or a share of the other terminals, counted from the
// start (5, 25, 100), and how long it soaks before the next opens.
type Stage struct {
	Name        string `json:"name"`
	Percent     int    `json:"percent"`
	SoakSeconds int64  `json:"soak_seconds"`
}

// Soak is the stage's soak time.
func (s Stage) Soak() time.Duration { return time.Duration(s.SoakSeconds) * time.Second }

// Rollout is a staged rollout of one release.
type Rollout struct {
	ID      string
	Version string
	Target  string
	State   string
	Stages  []Stage
	// Stage is the index of the open stage; StageStartedAt when it opened.
	Stage          int
	StageStartedAt time.Time
	// A stage is done when SuccessPercent of its members are done; the
	// rollout halts when FailCount members, or FailPercent of the members
	// of the open stages, are failing (MemberFailing).
	SuccessPercent int
	FailCount      int
	FailPercent    int
	// FailuresSince: members count against the thresholds only if they
	// began failing (RolloutMember.Since) at or after it. Resuming a
	// halted rollout moves it to then, so the failures staff accepted do
	// not halt it again.
	FailuresSince time.Time
	// Reason says why it halted, paused or stopped.
	Reason string
	// AlertTerminal carries the rollout_halted alert while it is halted.
	AlertTerminal string
	CreatedAt     time.Time
	CreatedBy     string
	UpdatedAt     time.Time
	// Seq counts the row's changes: UpdateRollout stores a change only
	// if the row is still at the Seq it was read at.
	Seq int64
}

// Active reports whether the rollout is running, paused or halted.
func (r *Rollout) Active() bool {
	return r.State == RolloutRunning || r.State == RolloutPaused || r.State == RolloutHalted
}

// EncodeStages is the stored form of stages.
func EncodeStages(s []Stage) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// DecodeStages parses EncodeStages's form.
func DecodeStages(s string) ([]Stage, error) {
	var out []Stage
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("store: rollout stages: %w", err)
	}
	return out, nil
}

// RolloutMember is a terminal's place and state in a rollout.
type RolloutMember struct {
	RolloutID  string
	TerminalID string
	Stage      int
	State      string
	Since      time.Time // of State
	OfferedAt  time.Time // when its stage opened; zero before
	Detail     string    // what its updater last reported, e.g. the last error
}

// MaintenanceWindow is when a quarter's terminals may install; quarter
// "" is the window of every quarter without its own.
type MaintenanceWindow struct {
	Quarter string
	api.MaintenanceWindow
	UpdatedAt time.Time
	UpdatedBy string
}

// Rollouts is what the hub keeps for staged rollouts. Every change made
// by staff or the engine is audited in its own transaction, except the
// members' states, which carry their own times.
type Rollouts interface {
	// AddRelease makes a version known to rollouts and audits it. Adding
	// a known version again with the same target changes nothing (and is
	// audited); with another target it is ErrVersionConflict.
	AddRelease(ctx context.Context, r Release, a Audit) error
	// Releases lists the known releases, newest first.
	Releases(ctx context.Context) ([]Release, error)
	// StartRollout stores a new rollout (its Seq becomes 1) with its
	// members and audits it. ErrNotFound if its version is not a known
	// release, ErrRolloutActive if another rollout is active.
	StartRollout(ctx context.Context, r Rollout, members []RolloutMember, a Audit) error
	// Rollout returns a rollout by ID (ErrNotFound).
	Rollout(ctx context.Context, id string) (Rollout, error)
	// Rollouts lists rollouts newest first, at most limit (0: all).
	Rollouts(ctx context.Context, limit int) ([]Rollout, error)
	// ActiveRollout returns the running, paused or halted rollout, or
	// ErrNotFound.
	ActiveRollout(ctx context.Context) (Rollout, error)
	// UpdateRollout stores r's state, stage, stage start, failures
	// since, reason, alert terminal and update time if the stored row is still at r.Seq
	// (else ErrVersionConflict; ErrNotFound), audits it when a.Action is
	// set, and returns r with its new Seq.
	UpdateRollout(ctx context.Context, r Rollout, a Audit) (Rollout, error)
	// RolloutMembers lists a rollout's members by stage and terminal ID.
	RolloutMembers(ctx context.Context, rolloutID string) ([]RolloutMember, error)
	// SaveRolloutMembers inserts or replaces members, all in one transaction.
	SaveRolloutMembers(ctx context.Context, ms []RolloutMember) error
	// PutMaintenanceWindow sets a quarter's window (w must be valid) and
	// audits it.
	PutMaintenanceWindow(ctx context.Context, w MaintenanceWindow, a Audit) error
	// DeleteMaintenanceWindow removes a quarter's window (ErrNotFound)
	// and audits it.
	DeleteMaintenanceWindow(ctx context.Context, quarter string, a Audit) error
	// MaintenanceWindows lists the windows by quarter.
	MaintenanceWindows(ctx context.Context) ([]MaintenanceWindow, error)
}

// WindowFor returns the window of quarter among ws, else the default
// (quarter ""), else nil.
func WindowFor(ws []MaintenanceWindow, quarter string) *api.MaintenanceWindow {
	var def *api.MaintenanceWindow
	for i := range ws {
		switch ws[i].Quarter {
		case quarter:
			return &ws[i].MaintenanceWindow
		case "":
			def = &ws[i].MaintenanceWindow
		}
	}
	return def
}
