package opendata

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/air"
)

// STAPath is the SensorThings API's root below the hub's address.
const STAPath = "/sta/v1.1"

// FeatureCollection is the stations GeoJSON (RFC 7946).
type FeatureCollection struct {
	Type     string    `json:"type"`
	Features []Feature `json:"features"`
}

// Feature is one published terminal.
type Feature struct {
	Type       string            `json:"type"`
	ID         int64             `json:"id"`
	Geometry   Point             `json:"geometry"`
	Properties StationProperties `json:"properties"`
}

// Point is a GeoJSON point: [longitude, latitude] (RFC 7946 § 3.1.1).
type Point struct {
	Type        string     `json:"type"`
	Coordinates [2]float64 `json:"coordinates"`
}

// StationProperties are what the stations file tells about a terminal.
type StationProperties struct {
	Name    string `json:"name"`
	ThingID int64  `json:"thing_id"`
	Quarter string `json:"quarter"`
	Place   string `json:"place"`
	Indoor  bool   `json:"indoor"`
	// Quantities are its published datastreams.
	Quantities []StationQuantity `json:"quantities"`
	// Sensors are the sensor models that measure them.
	Sensors []StationSensor `json:"sensors"`
	// ThingURL is the terminal in the SensorThings API.
	ThingURL string `json:"thing_url"`
	// First and Last bound its published observations (RFC 3339).
	First string `json:"first_observation,omitempty"`
	Last  string `json:"last_observation,omitempty"`
}

// StationQuantity is one published datastream of a station.
type StationQuantity struct {
	Quantity     string `json:"quantity"`
	Name         string `json:"name"`
	Definition   string `json:"definition"`
	UnitUCUM     string `json:"unit_ucum"`
	Resolution   string `json:"resolution"` // ISO 8601 duration: PT1M, PT1H
	DatastreamID int64  `json:"datastream_id"`
}

// StationSensor is a sensor model at a station.
type StationSensor struct {
	Model     string `json:"model"`
	Name      string `json:"name"`
	Datasheet string `json:"datasheet"`
}

// Resolution is the ISO 8601 duration of one value at a datastream
// resolution.
func Resolution(r string) string {
	if r == store.ResolutionHour {
		return "PT1H"
	}
	return "PT1M"
}

// station is a published terminal with its datastreams.
type station struct {
	num     int64
	info    terminalInfo
	streams []store.Datastream
}

// stations returns the published terminals (a site and at least one
// published datastream), by Thing ID.
func (f *Files) stations(ctx context.Context) ([]station, error) {
	infos, err := f.terminalInfos(ctx)
	if err != nil {
		return nil, err
	}
	dss, err := f.src.Datastreams(ctx, store.DatastreamFilter{Published: true})
	if err != nil {
		return nil, fmt.Errorf("opendata: datastreams: %w", err)
	}
	byTerminal := map[string]*station{}
	var out []*station
	for _, ds := range dss {
		ti, ok := infos[ds.TerminalID]
		if !ok || !ti.hasSite || ds.Resolution == store.ResolutionOff {
			continue
		}
		st := byTerminal[ds.TerminalID]
		if st == nil {
			st = &station{num: ds.TerminalNum, info: ti}
			byTerminal[ds.TerminalID] = st
			out = append(out, st)
		}
		st.streams = append(st.streams, ds)
	}
	slices.SortFunc(out, func(a, b *station) int { return cmp.Compare(a.num, b.num) })
	res := make([]station, len(out))
	for i, s := range out {
		res[i] = *s
	}
	return res, nil
}

// Stations returns the stations GeoJSON; base is the hub's public URL
// (the Things' links start with it).
func (f *Files) Stations(ctx context.Context, base string) (FeatureCollection, error) {
	sts, err := f.stations(ctx)
	if err != nil {
		return FeatureCollection{}, err
	}
	fc := FeatureCollection{Type: "FeatureCollection", Features: make([]Feature, 0, len(sts))}
	for _, st := range sts {
		p := StationProperties{Name: st.info.name, ThingID: st.num, Quarter: st.info.quarter, Place: st.info.site.Place,
			Indoor: st.info.site.Indoor, ThingURL: base + STAPath + "/Things(" + strconv.FormatInt(st.num, 10) + ")",
			Quantities: []StationQuantity{}, Sensors: []StationSensor{}}
		var first, last time.Time
		for _, ds := range st.streams {
			sq := StationQuantity{Quantity: ds.Quantity, Name: ds.Quantity, UnitUCUM: ds.Unit, Resolution: Resolution(ds.Resolution), DatastreamID: ds.ID}
			if q, ok := air.QuantityByID(ds.Quantity); ok {
				sq.Name, sq.Definition, sq.UnitUCUM = q.Name, q.Definition, q.UCUM
			}
			p.Quantities = append(p.Quantities, sq)
			if m, ok := air.ModelFor(ds.Model, ds.Quantity); ok && !slices.ContainsFunc(p.Sensors, func(s StationSensor) bool { return s.Model == m.ID }) {
				p.Sensors = append(p.Sensors, StationSensor{Model: m.ID, Name: m.Name, Datasheet: m.Datasheet})
			}
			if !ds.First.IsZero() && (first.IsZero() || ds.First.Before(first)) {
				first = ds.First
			}
			if ds.Last.After(last) {
				last = ds.Last
			}
		}
		if !first.IsZero() {
			p.First, p.Last = first.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339)
		}
		fc.Features = append(fc.Features, Feature{Type: "Feature", ID: st.num,
			Geometry:   Point{Type: "Point", Coordinates: [2]float64{st.info.site.Longitude, st.info.site.Latitude}},
			Properties: p})
	}
	return fc, nil
}

// WriteStations writes the stations GeoJSON to w.
func (f *Files) WriteStations(ctx context.Context, w io.Writer, base string) error {
	fc, err := f.Stations(ctx, base)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(fc); err != nil {
		return fmt.Errorf("opendata: stations: %w", err)
	}
	return nil
}
