package store

import (
	"context"
	"errors"
	"time"
)

// Errors of the console part.
var (
	// ErrUserExists: a user of that name exists already.
	ErrUserExists = errors.New("store: user name taken")
)

// Console is what the hub's web console keeps: staff users, their
// server-side sessions, the login throttle, the status workflow of
// problem reports, rotation tokens and audit entries of console actions.
// Part of Store. Sessions and the throttle live in the database so that
// several hub processes sharing one database (PostgreSQL) agree on them.
type Console interface {
	// CreateUser stores a new user (ErrUserExists) and audits it.
	CreateUser(ctx context.Context, u User, a Audit) error
	// UserByName returns the user with that name, or ErrNotFound.
	UserByName(ctx context.Context, name string) (User, error)
	// UserByID returns the user with that ID, or ErrNotFound.
	UserByID(ctx context.Context, id string) (User, error)
	// Users returns all users ordered by name.
	Users(ctx context.Context) ([]User, error)
	// UpdateUser replaces the user's role, password hash and disabled
	// time (ErrNotFound) and audits it. When the password hash or the
	// role changes, or the user is disabled, all the user's sessions are
	// deleted in the same transaction.
	UpdateUser(ctx context.Context, u User, a Audit) error
	// SetUserLogin records a successful login's time.
	SetUserLogin(ctx context.Context, id string, at time.Time) error
	// UserLangs is each user's console language (user_lang.go).
	UserLangs

	// CreateSession stores a new session.
	CreateSession(ctx context.Context, s Session) error
	// Session returns the session whose ID hash is idHash, or ErrNotFound
	// (also when it expired at or before now).
	Session(ctx context.Context, idHash string, now time.Time) (Session, error)
	// TouchSession sets a session's last-seen and expiry times.
	TouchSession(ctx context.Context, idHash string, lastSeen, expires time.Time) error
	// DeleteSession deletes one session (logout); no error if absent.
	DeleteSession(ctx context.Context, idHash string) error
	// DeleteExpiredSessions deletes sessions that expired at or before now.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)

	// AddLoginFailure counts a failed login for key (e.g. a hash of
	// client address and user name) atomically and returns the failures
	// counted so far. A count whose last failure is older than window
	// starts again at 1.
	AddLoginFailure(ctx context.Context, key string, at time.Time, window time.Duration) (failures int64, err error)
	// LoginFailures returns key's failure count and last failure time
	// (0 and zero time when none).
	LoginFailures(ctx context.Context, key string) (failures int64, last time.Time, err error)
	// ClearLoginFailures forgets key's failures (after a good login).
	ClearLoginFailures(ctx context.Context, key string) error
	// PruneLoginFailures deletes counts whose last failure is before before.
	PruneLoginFailures(ctx context.Context, before time.Time) (int64, error)

	// AppendAudit writes one audit entry (for console actions that change
	// nothing else in the store, e.g. a login or a token shown).
	AppendAudit(ctx context.Context, a Audit) error
	// AuditEntries lists audit entries matching f, newest first.
	AuditEntries(ctx context.Context, f AuditFilter) ([]Audit, error)

	// CreateRotationToken stores an enrolment token that, when used,
	// gives the existing terminal terminalID a new public key (keeping
	// its ID, name, tags and history) and lifts a revocation.
	// ErrNotFound if there is no such terminal. Enroll honours it.
	CreateRotationToken(ctx context.Context, tok EnrolToken, terminalID string, a Audit) error

	// Reports lists problem reports (records of type ReportType) with
	// their workflow status, newest first.
	Reports(ctx context.Context, f ReportFilter) ([]Report, error)
	// SetReportStatus stores a report's workflow state (ErrNotFound if the
	// record is not a problem report of that terminal) and audits it.
	SetReportStatus(ctx context.Context, st ReportStatus, a Audit) error
	// Records calls fn for each record matching f, oldest received
	// first, streaming; it stops at fn's first error and returns it.
	Records(ctx context.Context, f RecordFilter, fn func(*RecordRow) error) error
}

// Record types the console reads.
const (
	ReportType = "problem_report"
	SurveyType = "survey_response"
)

// Roles of console users.
const (
	RoleAdmin     = "admin"
	RoleModerator = "moderator"
	RoleViewer    = "viewer"
)

// User is a person who may log in to the console.
type User struct {
	ID           string
	Name         string
	Role         string // RoleAdmin, RoleModerator, RoleViewer
	PasswordHash string // PHC string, e.g. $argon2id$v=19$m=…,t=…,p=…$salt$key
	CreatedAt    time.Time
	UpdatedAt    time.Time
	DisabledAt   time.Time // zero: active
	LastLoginAt  time.Time
}

// Disabled reports whether the user may no longer log in.
func (u *User) Disabled() bool { return !u.DisabledAt.IsZero() }

// Session is a logged-in browser. Only a hash of the cookie's secret is
// stored, so a copy of the database gives no usable session.
type Session struct {
	IDHash     string // hex SHA-256 of the cookie value
	UserID     string
	CSRF       string // the session's CSRF token
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// AuditFilter selects audit entries. Zero fields select everything.
type AuditFilter struct {
	Subject string // exact
	Actor   string // exact
	Action  string // exact, or a prefix ending in '.' (e.g. "report.")
	Limit   int
}

// Report statuses.
const (
	ReportNew        = "new"
	ReportInProgress = "in_progress"
	ReportResolved   = "resolved"
	ReportRejected   = "rejected"
)

// ReportStatus is the workflow state of one problem report.
type ReportStatus struct {
	TerminalID string
	RecordID   string
	Status     string
	// PublicNote is shown on the public status page.
	PublicNote string
	// PublishText: a moderator approved showing the resident's text on
	// the public status page.
	PublishText bool
	UpdatedAt   time.Time
	UpdatedBy   string
}

// Report is a problem report with its workflow state (Status "new" and
// zero UpdatedAt when nobody touched it yet).
type Report struct {
	TerminalID   string
	TerminalName string
	Quarter      string
	RecordID     string
	Ref          string // api.ReportReference(RecordID)
	CreatedAt    time.Time
	ReceivedAt   time.Time
	Payload      []byte
	ReportStatus
}

// ReportFilter selects reports. Zero fields select everything.
type ReportFilter struct {
	TerminalID string
	RecordID   string
	Ref        string // XXXX-XXXX
	Status     string
	Quarter    string
	Limit      int
}

// RecordFilter selects records. Zero fields select everything.
type RecordFilter struct {
	Class      string // give api.ClassResident with a resident type: it is indexed
	Type       string
	TerminalID string
	Limit      int
}

// RecordRow is one stored record with its terminal.
type RecordRow struct {
	TerminalID   string
	TerminalName string
	Quarter      string
	ID           string
	Type         string
	CreatedAt    time.Time
	ReceivedAt   time.Time
	Payload      []byte // valid only during the callback
}
