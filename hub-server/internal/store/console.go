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
	// ErrVersionConflict: what the caller changes was changed by someone
	// else since the caller read it (its version moved on); nothing was
	// stored. Read it again and let the person decide.
	ErrVersionConflict = errors.New("store: changed by someone else meanwhile")
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
	// time (ErrNotFound) and audits it, only if the user is still at
	// u.Version, the version read with u (else ErrVersionConflict), so
	// two admins, or an admin and the user, never undo each other's
	// change unseen; the version then goes up by one. When the password
	// hash or the role changes, or the user is disabled, all the user's
	// sessions are deleted in the same transaction.
	UpdateUser(ctx context.Context, u User, a Audit) error
	// SetUserLogin records a successful login's time.
	SetUserLogin(ctx context.Context, id string, at time.Time) error
	// UserLangs is each user's console language (user_lang.go).
	UserLangs

	// CreateSession stores a new session.
	CreateSession(ctx context.Context, s Session) error
	// StartSession stores a new session after a login, sets its user's
	// last login to s.CreatedAt and audits the login, in one transaction:
	// a login that cannot be audited does not happen. ErrNotFound if the
	// user does not exist.
	StartSession(ctx context.Context, s Session, a Audit) error
	// EndSession deletes a session (logout; no error if absent) and
	// audits it, in one transaction.
	EndSession(ctx context.Context, idHash string, a Audit) error
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
	// CreateEnrolTokenAudited is Store.CreateEnrolToken with its audit
	// entry written in the same transaction.
	CreateEnrolTokenAudited(ctx context.Context, tok EnrolToken, a Audit) error
	// RevokeTerminalAudited is Store.RevokeTerminal with its audit entry
	// written in the same transaction.
	RevokeTerminalAudited(ctx context.Context, id string, at time.Time, a Audit) error

	// Reports lists problem reports (records of type ReportType) with
	// their workflow status, newest first.
	Reports(ctx context.Context, f ReportFilter) ([]Report, error)
	// SetReportStatus stores a report's workflow state (ErrNotFound if the
	// record is not a problem report of that terminal) and audits it,
	// only if the stored state is still at st.Version, the version the
	// change is based on (0: nobody set a state yet); else
	// ErrVersionConflict. The stored version becomes st.Version+1.
	SetReportStatus(ctx context.Context, st ReportStatus, a Audit) error
	// ReportByRef returns the report that owns the public reference ref
	// (XXXX-XXXX): of the reports whose record IDs end in it, the one the
	// hub received first (then the lowest terminal, then record ID), so a
	// reference shows one report however many terminals upload a record
	// ID ending in it. shared says another report has the same reference.
	// ErrNotFound when none has.
	ReportByRef(ctx context.Context, ref string) (r Report, shared bool, err error)
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
	// Version counts the changes by UpdateUser (1 when created).
	Version int64
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
	// Version counts the state's changes (0: never set). Read with the
	// report, it is what SetReportStatus expects.
	Version int64
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
