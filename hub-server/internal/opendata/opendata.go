// Package opendata makes the files a city's open data portal harvests from
// the hub: one gzipped CSV per finished UTC day with every published
// observation (one row per value, with its quality flags), a GeoJSON of the
// stations, and a DCAT-AP.de catalogue record (JSON-LD) describing both and
// the SensorThings API. Handler serves them under /open-data/; Export
// writes them to a directory for portals that harvest files.
//
// A finished day's file never changes once made: it is generated on first
// demand (streamed from the store into the cache, so memory does not grow
// with the day), kept in a cache directory (or, without one, in a bounded
// memory cache) and served with a content ETag and a long Cache-Control.
// A day counts as finished Settle after its end, so minutes a terminal
// uploads a little late are still in it; what arrives later still is in
// the SensorThings API only.
//
// What is published is the store's business (store.OpenData's
// PublishedObservations: datastreams of terminals with a site whose
// resolution is not off, hourly ones per finished hour). Nothing personal
// is in any file: terminals appear by name, quarter and site.
package opendata

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Source is what the files are made of; store.Store is one.
type Source interface {
	Terminals(ctx context.Context) ([]store.Terminal, error)
	Sites(ctx context.Context) ([]store.Site, error)
	Datastreams(ctx context.Context, f store.DatastreamFilter) ([]store.Datastream, error)
	PublishedObservations(ctx context.Context, from, to time.Time, fn func(store.Datastream, store.Observation) error) error
}

// Licence is a licence the catalogue may name, with its URI in the
// DCAT-AP.de licence vocabulary (https://www.dcat-ap.de/def/licenses/).
type Licence struct {
	// ID is the flag's value: "dl-de/zero-2.0".
	ID   string
	Name string
	URI  string
	// Attribution: users must name the source, so the catalogue carries
	// dcatde:licenseAttributionByText.
	Attribution bool
	// Page is the licence's text for people.
	Page string
}

// Licences are the licences the hub offers for its data: the German open
// data licences and their Creative Commons counterparts.
var Licences = []Licence{
	{ID: "dl-de/zero-2.0", Name: "Datenlizenz Deutschland – Zero – Version 2.0", URI: "http://dcat-ap.de/def/licenses/dl-zero-de/2.0",
		Page: "https://www.govdata.de/dl-de/zero-2-0"},
	{ID: "dl-de/by-2.0", Name: "Datenlizenz Deutschland – Namensnennung – Version 2.0", URI: "http://dcat-ap.de/def/licenses/dl-by-de/2.0",
		Attribution: true, Page: "https://www.govdata.de/dl-de/by-2-0"},
	{ID: "cc-zero", Name: "Creative Commons CC Zero License (cc-zero)", URI: "http://dcat-ap.de/def/licenses/cc-zero",
		Page: "https://creativecommons.org/publicdomain/zero/1.0/"},
	{ID: "cc-by-4.0", Name: "Creative Commons Namensnennung – 4.0 International (CC BY 4.0)", URI: "http://dcat-ap.de/def/licenses/cc-by/4.0",
		Attribution: true, Page: "https://creativecommons.org/licenses/by/4.0/"},
}

// DefaultLicence is the licence when none is configured.
const DefaultLicence = "dl-de/zero-2.0"

// LicenceByID returns the licence named id.
func LicenceByID(id string) (Licence, bool) {
	for _, l := range Licences {
		if l.ID == id {
			return l, true
		}
	}
	return Licence{}, false
}

// LicenceIDs lists the accepted licence IDs, for flag help and errors.
func LicenceIDs() string {
	ids := make([]string, len(Licences))
	for i, l := range Licences {
		ids[i] = l.ID
	}
	return strings.Join(ids, ", ")
}

// Catalog is what the catalogue says about who publishes the data. Zero
// fields are the defaults.
type Catalog struct {
	// Title of the catalogue. Default "Quartierhub – offene Umweltdaten".
	Title string
	// Publisher is the organisation that publishes the data (dct:publisher).
	// Default "Quartierhub".
	Publisher string
	// ContactEmail is the contact point's address (dcat:contactPoint);
	// empty: none.
	ContactEmail string
	// Licence is a Licences ID. Default DefaultLicence.
	Licence string
	// PoliticalGeocoding is the DCAT-AP.de URI of the area the data is
	// about, e.g. the municipality key of Dresden,
	// http://dcat-ap.de/def/politicalGeocoding/municipalityKey/14612000
	// (dcatde:politicalGeocodingURI; its level follows from the key);
	// empty: none.
	PoliticalGeocoding string
	// ContributorID is the publisher's DCAT-AP.de contributor URI
	// (http://dcat-ap.de/def/contributors/…), which GovData requires of
	// the portals it harvests; empty: none.
	ContributorID string
	// PublicURL is the hub's address as the portal reaches it (absolute
	// URLs in the catalogue and the stations' links). Default: from each
	// request; Export needs it.
	PublicURL string
}

const (
	geocodingBase    = "http://dcat-ap.de/def/politicalGeocoding/"
	contributorsBase = "http://dcat-ap.de/def/contributors/"
)

// geocodingKeys are the DCAT-AP.de political geocoding key lists with the
// length of their keys and the administrative level a key of them names.
var geocodingKeys = map[string]struct {
	digits int
	level  string
}{
	"stateKey":        {2, "state"},
	"districtKey":     {5, "administrativeDistrict"},
	"municipalityKey": {8, "municipality"},
	"regionalKey":     {12, "municipality"},
}

// GeocodingLevel returns the DCAT-AP.de level URI
// (dcatde:politicalGeocodingLevelURI) of a political geocoding URI, or an
// error if uri is not one of a state, district or municipality key.
func GeocodingLevel(uri string) (string, error) {
	list, key, ok := strings.Cut(strings.TrimPrefix(uri, geocodingBase), "/")
	k, known := geocodingKeys[list]
	if !ok || !strings.HasPrefix(uri, geocodingBase) || !known || len(key) != k.digits || strings.Trim(key, "0123456789") != "" {
		return "", fmt.Errorf("opendata: %q is not a DCAT-AP.de political geocoding URI (%sstateKey/NN, districtKey/NNNNN, municipalityKey/NNNNNNNN or regionalKey/NNNNNNNNNNNN)", uri, geocodingBase)
	}
	return geocodingBase + "Level/" + k.level, nil
}

// Defaults of Opts.
const (
	DefaultSettle      = time.Hour
	DefaultCatalogDays = 31
	DefaultMemoryCache = 128 << 20
)

// Opts configure Files. Zero values are the defaults.
type Opts struct {
	Catalog Catalog
	// CacheDir keeps the finished days' files (made when missing). Empty:
	// a memory cache of at most MemoryCache bytes.
	CacheDir    string
	MemoryCache int64
	// Settle is how long after a day's end its file is made. Default
	// DefaultSettle.
	Settle time.Duration
	// CatalogDays is how many finished days the catalogue lists as
	// distributions. Default DefaultCatalogDays.
	CatalogDays int
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger gets generation errors. Default slog.Default().
	Logger *slog.Logger
}

// Files makes and serves the open data files of one Source.
type Files struct {
	src     Source
	o       Opts
	licence Licence
	cache   cache
	log     *slog.Logger
	flight  singleflight.Group
	gen     chan struct{} // a slot per day file being made
}

// New checks o and returns the files of src.
func New(src Source, o Opts) (*Files, error) {
	c := &o.Catalog
	if c.Licence == "" {
		c.Licence = DefaultLicence
	}
	lic, ok := LicenceByID(c.Licence)
	if !ok {
		return nil, fmt.Errorf("opendata: unknown licence %q (one of %s)", c.Licence, LicenceIDs())
	}
	if c.Title == "" {
		c.Title = "Quartierhub – offene Umweltdaten"
	}
	if c.Publisher == "" {
		c.Publisher = "Quartierhub"
	}
	if c.ContactEmail != "" && (!strings.Contains(c.ContactEmail, "@") || strings.ContainsAny(c.ContactEmail, " <>\"")) {
		return nil, fmt.Errorf("opendata: contact email %q is not an address", c.ContactEmail)
	}
	if c.PoliticalGeocoding != "" {
		if _, err := GeocodingLevel(c.PoliticalGeocoding); err != nil {
			return nil, err
		}
	}
	if c.ContributorID != "" && !strings.HasPrefix(c.ContributorID, contributorsBase) {
		return nil, fmt.Errorf("opendata: contributor ID %q is not a DCAT-AP.de contributor URI (%s…)", c.ContributorID, contributorsBase)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "https://") && !strings.HasPrefix(c.PublicURL, "http://") {
		return nil, fmt.Errorf("opendata: public URL %q is not http(s)", c.PublicURL)
	}
	if o.Settle <= 0 {
		o.Settle = DefaultSettle
	}
	if o.CatalogDays <= 0 {
		o.CatalogDays = DefaultCatalogDays
	}
	if o.MemoryCache <= 0 {
		o.MemoryCache = DefaultMemoryCache
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	f := &Files{src: src, o: o, licence: lic, log: o.Logger, gen: make(chan struct{}, 2)}
	if o.CacheDir != "" {
		f.cache = &dirCache{dir: o.CacheDir}
	} else {
		f.cache = newMemCache(o.MemoryCache)
	}
	return f, nil
}

// Licence is the configured licence.
func (f *Files) Licence() Licence { return f.licence }

// LastFinishedDay is the newest day whose file may be made at now: a UTC
// midnight.
func (f *Files) LastFinishedDay(now time.Time) time.Time {
	return dayOf(now.Add(-f.o.Settle)).AddDate(0, 0, -1)
}

// Finished reports whether day's file may be made at now.
func (f *Files) Finished(day, now time.Time) bool {
	return !dayOf(day).After(f.LastFinishedDay(now))
}

// dayOf is the UTC midnight starting t's day.
func dayOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// DayFileName is the path of a day's file below the open data root.
func DayFileName(day time.Time) string { return "air/" + day.UTC().Format(time.DateOnly) + ".csv.gz" }
