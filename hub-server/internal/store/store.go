// Package store defines what the hub keeps — terminals, enrolment tokens
// and the records terminals upload — behind the Store interface, with one
// migration set (migrations/*.sql, goose) shared by every implementation.
// sqlitestore is the embedded default; a PostgreSQL implementation sits
// beside it and must pass the same conformance suite (storetest.Run).
//
// The migration SQL is written in the subset SQLite and PostgreSQL share:
// TEXT and BIGINT columns only; times are BIGINT unix nanoseconds (UTC);
// public keys are base64 TEXT; payloads are JSON TEXT.
package store

import (
	"context"
	"crypto/ed25519"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing/fstest"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialects of MigrationsFS.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// MigrationsFS returns the goose migrations (*.sql at the root) for a
// dialect. The files are shared; where a dialect needs a clause the other
// lacks, the SQL carries it in a comment marker /*DIALECT: clause*/, which
// becomes the clause for that dialect and stays a comment for the others
// (e.g. /*sqlite: WITHOUT ROWID*/).
func MigrationsFS(dialect string) (fs.FS, error) {
	ents, err := migrations.ReadDir("migrations")
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	out := fstest.MapFS{}
	marker := "/*" + dialect + ": "
	for _, e := range ents {
		b, err := migrations.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("store: migrations: %w", err)
		}
		out[e.Name()] = &fstest.MapFile{Data: []byte(unmark(string(b), marker)), Mode: 0o444}
	}
	return out, nil
}

// unmark turns each "<marker>clause*/" in sql into "clause".
func unmark(sql, marker string) string {
	var b strings.Builder
	for {
		before, after, ok := strings.Cut(sql, marker)
		if !ok {
			b.WriteString(sql)
			return b.String()
		}
		clause, rest, ok := strings.Cut(after, "*/")
		if !ok {
			b.WriteString(sql)
			return b.String()
		}
		b.WriteString(before)
		b.WriteString(clause)
		sql = rest
	}
}

// Errors the stores return; test with errors.Is.
var (
	ErrNotFound     = errors.New("store: not found")
	ErrTokenUnknown = errors.New("store: enrolment token unknown")
	ErrTokenUsed    = errors.New("store: enrolment token already used")
	ErrTokenExpired = errors.New("store: enrolment token expired")
	ErrNameTaken    = errors.New("store: terminal name already enrolled")
	ErrRevoked      = errors.New("store: terminal revoked")
)

// Terminal is an enrolled terminal.
type Terminal struct {
	ID              string
	Name            string
	Quarter         string
	PublicKey       ed25519.PublicKey
	SoftwareVersion string
	EnrolledAt      time.Time
	RevokedAt       time.Time // zero if not revoked
	// LastSeenAt is the last authenticated request that touched it:
	// upload, ping or heartbeat. Zero if never seen after enrolment.
	LastSeenAt time.Time
	// Tags group terminals for commands (normalized, sorted).
	Tags []string
}

// Revoked reports whether t's credentials were revoked.
func (t *Terminal) Revoked() bool { return !t.RevokedAt.IsZero() }

// TerminalNames maps every terminal's ID to its name, for lists that
// store IDs and show names (alerts, commands).
func TerminalNames(ctx context.Context, st interface {
	Terminals(context.Context) ([]Terminal, error)
}) (map[string]string, error) {
	ts, err := st.Terminals(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[t.ID] = t.Name
	}
	return m, nil
}

// EnrolToken is an enrolment token as stored: only the SHA-256 of the token.
type EnrolToken struct {
	Hash         [32]byte
	TerminalName string
	Quarter      string
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// Enrolment is a terminal's request to enrol with a token.
type Enrolment struct {
	TokenHash       [32]byte
	TerminalID      string // new, chosen by the caller
	PublicKey       ed25519.PublicKey
	SoftwareVersion string
	Now             time.Time
}

// ExportFilter selects records to export. Zero fields select everything.
type ExportFilter struct {
	Type string
}

// ExportedRecord is one record as exported.
type ExportedRecord struct {
	ID         string
	Terminal   string // the terminal's name
	Type       string
	Class      string
	CreatedAt  time.Time
	ReceivedAt time.Time
	// Payload is valid only during the callback that receives it.
	Payload []byte
}

// Store is everything the hub stores. Implementations are safe for
// concurrent use.
type Store interface {
	// CreateEnrolToken stores a new token. ErrNameTaken if a terminal of
	// that name is already enrolled.
	CreateEnrolToken(ctx context.Context, tok EnrolToken) error
	// Enroll consumes the token (ErrTokenUnknown, ErrTokenUsed,
	// ErrTokenExpired) and creates the terminal it names (ErrNameTaken),
	// atomically. The token stays unused if enrolment fails. A rotation
	// token (Console.CreateRotationToken) instead gives its existing
	// terminal the new public key and software version and clears its
	// revocation; the terminal keeps its ID.
	Enroll(ctx context.Context, e Enrolment) (Terminal, error)
	// Terminal returns the terminal with the given ID, or ErrNotFound.
	Terminal(ctx context.Context, id string) (Terminal, error)
	// Terminals returns all terminals ordered by name.
	Terminals(ctx context.Context) ([]Terminal, error)
	// RevokeTerminal revokes the terminal's credentials (ErrNotFound).
	// Revoking twice keeps the first time.
	RevokeTerminal(ctx context.Context, id string, at time.Time) error
	// TouchTerminal sets the terminal's last-seen time.
	TouchTerminal(ctx context.Context, id string, at time.Time) error
	// IngestBatch stores the records of one batch from terminal id, all or
	// nothing, and sets the terminal's last-seen time to receivedAt. A
	// record whose (terminal, ID) is already stored, or appears earlier in
	// the batch, is not stored again and is counted as a duplicate. The
	// records must be valid (api.Record.Validate). ErrNotFound, ErrRevoked.
	// Records of type api.RecordWorkshopEvent are appended to their
	// workshop's log instead (Workshops), idempotent by event ID; an event
	// that cannot be stored (unknown workshop, full log, another device
	// than "t:" + terminalID, unusable envelope) is dropped, logged and
	// reported to the OnWorkshopAppend hook, never failing the batch.
	// Whatever is not newly stored counts as a duplicate.
	IngestBatch(ctx context.Context, terminalID string, recs []api.Record, receivedAt time.Time) (api.BatchAck, error)
	// ExportRecords calls fn for each record matching f, streaming, in
	// storage order. It stops at fn's first error and returns it.
	ExportRecords(ctx context.Context, f ExportFilter, fn func(*ExportedRecord) error) error
	// Fleet is the fleet-management part (fleet.go).
	Fleet
	// Console is the web console's part (console.go).
	Console
	// Rollouts is the staged rollouts' part (rollout.go).
	Rollouts
	// TUF is the hub's TUF repository (tuf.go).
	TUF
	// Workshops is the participation workshops' part (workshops.go).
	Workshops
	// Secrets is the hub's own secrets (secrets.go).
	Secrets
	// OpenData is the open environmental data (opendata.go).
	OpenData
	// FleetTrends is the fleet's health over time (fleet_trends.go).
	FleetTrends
	// Close releases the store.
	Close() error
}

// Nanos converts t to the stored representation; the zero time is 0.
func Nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// FromNanos converts a stored time back; 0 is the zero time.
func FromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
