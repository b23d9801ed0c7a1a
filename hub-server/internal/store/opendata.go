package store

import (
	"context"
	"time"

	"github.com/quartierhub/quartierhub/internal/air"
)

// Resolutions a datastream is published at.
const (
	ResolutionMinute = "minute"
	ResolutionHour   = "hour"
	ResolutionOff    = "off"
)

// Site is where a terminal stands and what of its air is published
// (migration 00014). A terminal without a site is not published.
type Site struct {
	TerminalID string
	// Latitude and Longitude are WGS 84 degrees.
	Latitude, Longitude float64
	// Place is a public description ("Pohlandplatz, Haltestelle").
	Place string
	// Indoor terminals publish CO2 hourly by default: per minute it shows
	// whether people are in the room.
	Indoor bool
	// Publish overrides the default resolution per quantity ID
	// (ResolutionMinute, ResolutionHour, ResolutionOff).
	Publish map[string]string
	// Version counts edits (compare-and-swap); 0 before the first.
	Version   int64
	UpdatedAt time.Time
}

// Resolution returns what is published of quantity at s: the override,
// else the default (indoors CO2 hourly; everything else per minute).
func (s Site) Resolution(quantity string) string {
	if r, ok := s.Publish[quantity]; ok {
		return r
	}
	if s.Indoor && quantity == "co2" {
		return ResolutionHour
	}
	return ResolutionMinute
}

// Datastream is one terminal's sensor and quantity.
type Datastream struct {
	ID         int64
	TerminalID string
	// TerminalNum is the terminal's compact key, SensorThings' Thing @iot.id.
	TerminalNum int64
	Sensor      string // the device's id on the terminal
	Model       string // air.Model ID, "" if unknown
	Quantity    string
	Unit        string
	Resolution  string
	// First and Last are the minutes of the oldest and newest observation.
	First, Last time.Time
}

// Observation is one stored minute (or, from ObservationWindow at
// ResolutionHour, one hour: Minute is then the hour's start and Count,
// Expected add up its minutes).
type Observation struct {
	DatastreamID   int64
	Minute         time.Time
	Mean, Min, Max float64
	Count          int
	Expected       int
	WarmUp         int
	Invalid        int
	Flags          air.Flags
}

// DatastreamFilter selects datastreams; zero fields select all.
type DatastreamFilter struct {
	TerminalID string
	// Published keeps those of terminals with a site whose resolution is
	// not ResolutionOff.
	Published bool
}

// OpenData is the open environmental data: sites, datastreams and their
// observations. Part of Store. Observations are written by IngestBatch:
// a sensor_minute record that decodes as a minute (DecodeSensorMinute:
// kiosk/aggregate's Aggregate) with samples makes its datastream, its
// observation (flagged by air.Assess and the cross checks) and its hour's
// sums in the batch's transaction (ObservationIngest); the record itself
// is stored as before. The first record of a datastream's minute wins: a
// replay or a second (partial) record of it changes nothing. Should the
// observations of a batch fail, its records are stored all the same.
type OpenData interface {
	// Site returns the terminal's site, or ErrNotFound.
	Site(ctx context.Context, terminalID string) (Site, error)
	// Sites returns every site, by terminal name.
	Sites(ctx context.Context) ([]Site, error)
	// PutSite stores s if the stored site is still at s.Version (0: none
	// yet), else ErrVersionConflict; the version goes up by one, the
	// terminal's datastreams take the new resolutions, and a is audited,
	// all in one transaction. ErrNotFound for an unknown terminal; bad
	// input (ValidateSite) is a *userr.Error over a *SiteFieldError.
	// UpdatedAt is a.At (the store's clock when zero).
	PutSite(ctx context.Context, s Site, a Audit) (Site, error)
	// DeleteSite unpublishes the terminal (same rules as PutSite).
	DeleteSite(ctx context.Context, terminalID string, version int64, a Audit) error
	// Datastreams returns the datastreams f selects, by terminal name,
	// sensor and quantity.
	Datastreams(ctx context.Context, f DatastreamFilter) ([]Datastream, error)
	// ObservationWindow returns a datastream's observations with from <=
	// minute < to, oldest first, per minute (ResolutionMinute) or per
	// hour (ResolutionHour, from observations_hourly).
	ObservationWindow(ctx context.Context, datastreamID int64, from, to time.Time, resolution string) ([]Observation, error)
	// PublishedObservations calls fn for every published observation with
	// from <= minute < to, by datastream then time: per minute for
	// datastreams published per minute, per finished hour for those
	// published hourly. It stops at fn's first error.
	PublishedObservations(ctx context.Context, from, to time.Time, fn func(Datastream, Observation) error) error
	// QueryOpenData runs one read-only statement a SensorThings request
	// compiled (placeholders "?", whatever the dialect), calling fn once
	// per row with a scan function, within timeout (the statement is
	// cancelled after it; the error then wraps context.DeadlineExceeded).
	// The statement cannot write. Rows are not bounded here: the caller
	// bounds them with LIMIT.
	QueryOpenData(ctx context.Context, timeout time.Duration, query string, args []any, fn func(scan func(dest ...any) error) error) error
	// OpenDataDialect is the dialect QueryOpenData speaks: DialectSQLite
	// or DialectPostgres.
	OpenDataDialect() string
}
