package opendata

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Vocabularies the catalogue uses (DCAT-AP.de 2.0).
const (
	ThemeEnvironment  = "http://publications.europa.eu/resource/authority/data-theme/ENVI"
	FrequencyDaily    = "http://publications.europa.eu/resource/authority/frequency/DAILY"
	FileTypeCSV       = "http://publications.europa.eu/resource/authority/file-type/CSV"
	FileTypeGeoJSON   = "http://publications.europa.eu/resource/authority/file-type/GEOJSON"
	FileTypeJSON      = "http://publications.europa.eu/resource/authority/file-type/JSON"
	LanguageGerman    = "http://publications.europa.eu/resource/authority/language/DEU"
	MediaTypeCSV      = "http://www.iana.org/assignments/media-types/text/csv"
	MediaTypeGzip     = "http://www.iana.org/assignments/media-types/application/gzip"
	MediaTypeGeoJSON  = "http://www.iana.org/assignments/media-types/application/geo+json"
	MediaTypeJSON     = "http://www.iana.org/assignments/media-types/application/json"
	StatusCompleted   = "http://purl.org/adms/status/Completed"
	SensorThingsSpec  = "http://www.opengis.net/spec/iot_sensing/1.1"
	wktLiteral        = "http://www.opengis.net/ont/geosparql#wktLiteral"
	catalogPath       = "/open-data/catalog.jsonld"
	indexPath         = "/open-data/"
	stationsPath      = "/open-data/stations.geojson"
	datasetFragment   = "#air-quality"
	publisherFragment = "#publisher"
)

// Context is the catalogue's JSON-LD @context: the DCAT-AP.de prefixes.
var Context = map[string]string{
	"dcat":   "http://www.w3.org/ns/dcat#",
	"dct":    "http://purl.org/dc/terms/",
	"dcatde": "http://dcat-ap.de/def/dcatde/",
	"foaf":   "http://xmlns.com/foaf/0.1/",
	"vcard":  "http://www.w3.org/2006/vcard/ns#",
	"adms":   "http://www.w3.org/ns/adms#",
	"xsd":    "http://www.w3.org/2001/XMLSchema#",
}

type obj = map[string]any

func iri(s string) obj         { return obj{"@id": s} }
func typed(v, typ string) obj  { return obj{"@value": v, "@type": typ} }
func lang(v, l string) obj     { return obj{"@value": v, "@language": l} }
func deEn(de, en string) []obj { return []obj{lang(de, "de"), lang(en, "en")} }
func dateTime(t time.Time) obj { return typed(t.UTC().Format(time.RFC3339), "xsd:dateTime") }
func period(from, to time.Time) obj {
	return obj{"@type": "dct:PeriodOfTime", "dcat:startDate": dateTime(from), "dcat:endDate": dateTime(to)}
}
func coord(v float64) string                 { return strconv.FormatFloat(v, 'f', -1, 64) }
func point(lon, lat float64) string          { return coord(lon) + " " + coord(lat) }
func dayURL(base string, d time.Time) string { return base + "/open-data/" + DayFileName(d) }

// Coverage is what the published data spans.
type Coverage struct {
	// First and End bound the published intervals (End exclusive); zero
	// when nothing is published yet.
	First, End time.Time
	// West, South, East, North bound the stations (WGS 84 degrees); ok
	// false when there are none.
	West, South, East, North float64
	HasStations              bool
}

// coverage computes the time span and bounding box of what is published.
func (f *Files) coverage(ctx context.Context) (Coverage, []station, error) {
	sts, err := f.stations(ctx)
	if err != nil {
		return Coverage{}, nil, err
	}
	c := Coverage{West: math.Inf(1), South: math.Inf(1), East: math.Inf(-1), North: math.Inf(-1)}
	for _, st := range sts {
		c.HasStations = true
		c.West, c.East = min(c.West, st.info.site.Longitude), max(c.East, st.info.site.Longitude)
		c.South, c.North = min(c.South, st.info.site.Latitude), max(c.North, st.info.site.Latitude)
		for _, ds := range st.streams {
			if ds.First.IsZero() {
				continue
			}
			step := time.Minute
			if ds.Resolution == store.ResolutionHour {
				step = time.Hour
			}
			end := ds.Last.Truncate(step).Add(step)
			if c.First.IsZero() || ds.First.Before(c.First) {
				c.First = ds.First.Truncate(step)
			}
			if end.After(c.End) {
				c.End = end
			}
		}
	}
	return c, sts, nil
}

// Days returns the finished days the catalogue lists at now: the last
// CatalogDays finished days that hold published data, oldest first.
func (f *Files) Days(c Coverage, now time.Time) []time.Time {
	if c.First.IsZero() {
		return nil
	}
	last := f.LastFinishedDay(now)
	if end := dayOf(c.End.Add(-time.Nanosecond)); end.Before(last) {
		last = end
	}
	first := last.AddDate(0, 0, -(f.o.CatalogDays - 1))
	if d := dayOf(c.First); d.After(first) {
		first = d
	}
	var days []time.Time
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
	}
	return days
}

// Catalog returns the DCAT-AP.de catalogue record as a JSON-LD document;
// base is the hub's public URL. sizes, when it knows a day file's size,
// adds dcat:byteSize.
func (f *Files) Catalog(ctx context.Context, base string, sizes func(day time.Time) (int64, bool)) (map[string]any, error) {
	cov, _, err := f.coverage(ctx)
	if err != nil {
		return nil, err
	}
	now := f.o.Now()
	cat := f.o.Catalog
	lic := f.licence
	licensed := func(o obj) obj {
		o["dct:license"] = iri(lic.URI)
		if lic.Attribution {
			o["dcatde:licenseAttributionByText"] = cat.Publisher
		}
		return o
	}
	datasetID := base + indexPath + datasetFragment
	publisher := obj{"@id": base + indexPath + publisherFragment, "@type": "foaf:Organization", "foaf:name": cat.Publisher}
	staURL := base + STAPath

	var dists []any
	for _, d := range f.Days(cov, now) {
		u := dayURL(base, d)
		date := d.Format(time.DateOnly)
		dist := licensed(obj{
			"@id": u, "@type": "dcat:Distribution",
			"dct:title": deEn("Luftqualität am "+date+" (CSV, gzip)", "Air quality on "+date+" (CSV, gzip)"),
			"dct:description": deEn("Alle veröffentlichten Messwerte des Tages (UTC), ein Wert je Zeile, mit Qualitätskennzeichen.",
				"Every published value of the day (UTC), one value per row, with quality flags."),
			"dcat:accessURL": iri(u), "dcat:downloadURL": iri(u),
			"dct:format": iri(FileTypeCSV), "dcat:mediaType": iri(MediaTypeCSV), "dcat:compressFormat": iri(MediaTypeGzip),
			"dct:temporal": period(d, d.AddDate(0, 0, 1)),
			"adms:status":  iri(StatusCompleted),
		})
		if sizes != nil {
			if n, ok := sizes(d); ok {
				dist["dcat:byteSize"] = typed(strconv.FormatInt(n, 10), "xsd:nonNegativeInteger")
			}
		}
		dists = append(dists, dist)
	}
	stationsURL := base + stationsPath
	dists = append(dists, licensed(obj{
		"@id": stationsURL, "@type": "dcat:Distribution",
		"dct:title":       deEn("Messstationen (GeoJSON)", "Stations (GeoJSON)"),
		"dct:description": deEn("Standorte der Terminals mit ihren veröffentlichten Größen und Sensoren.", "Where the terminals stand, with their published quantities and sensors."),
		"dcat:accessURL":  iri(stationsURL), "dcat:downloadURL": iri(stationsURL),
		"dct:format": iri(FileTypeGeoJSON), "dcat:mediaType": iri(MediaTypeGeoJSON),
	}))
	dists = append(dists, licensed(obj{
		"@id": staURL + "#distribution", "@type": "dcat:Distribution",
		"dct:title":       deEn("OGC SensorThings API 1.1", "OGC SensorThings API 1.1"),
		"dct:description": deEn("Alle Messwerte bis zur aktuellen Minute, abfragbar.", "Every value up to the current minute, queryable."),
		"dcat:accessURL":  iri(staURL), "dcat:accessService": iri(staURL),
		"dct:format": iri(FileTypeJSON), "dcat:mediaType": iri(MediaTypeJSON),
	}))

	dataset := obj{
		"@id": datasetID, "@type": "dcat:Dataset",
		"dct:identifier": datasetID,
		"dct:title":      deEn("Luftqualität in den Quartieren", "Air quality in the quarters"),
		"dct:description": deEn(
			"Feinstaub (PM2.5, PM10) und Kohlendioxid, gemessen von den Quartiersterminals: Mittel, Minimum, Maximum und Zahl der Messungen je Minute "+
				"(CO2 in Innenräumen je Stunde), mit Qualitätskennzeichen (Aufwärmphase, unvollständig, außerhalb des Messbereichs, PM2.5 über PM10, "+
				"konstante Werte, hohe Luftfeuchte). Rohwerte werden nie verändert. Eine Datei je abgeschlossenem Tag (UTC): "+
				base+"/open-data/air/JJJJ-MM-TT.csv.gz; die Spalten beschreibt "+base+indexPath+".",
			"Particulate matter (PM2.5, PM10) and carbon dioxide measured by the quarters' terminals: mean, minimum, maximum and number of samples "+
				"per minute (indoor CO2 as hourly means by default), with quality flags (warm-up, incomplete, out of range, PM2.5 above PM10, flat line, high humidity). "+
				"Raw values are never changed. One file per finished day (UTC): "+base+"/open-data/air/YYYY-MM-DD.csv.gz; the columns are described at "+
				base+indexPath+"."),
		"dcat:theme": iri(ThemeEnvironment),
		"dcat:keyword": []obj{lang("Luftqualität", "de"), lang("Feinstaub", "de"), lang("Kohlendioxid", "de"), lang("Sensordaten", "de"),
			lang("Citizen Science", "de"), lang("air quality", "en"), lang("particulate matter", "en"), lang("carbon dioxide", "en"),
			lang("PM2.5", "en"), lang("PM10", "en"), lang("CO2", "en")},
		"dct:publisher":           iri(publisher["@id"].(string)),
		"dct:language":            iri(LanguageGerman),
		"dct:accrualPeriodicity":  iri(FrequencyDaily),
		"dcat:temporalResolution": typed("PT1M", "xsd:duration"),
		"dcat:landingPage":        iri(base + indexPath),
		"dct:modified":            dateTime(f.LastFinishedDay(now).AddDate(0, 0, 1)),
		"dcat:distribution":       dists,
	}
	if cat.ContactEmail != "" {
		dataset["dcat:contactPoint"] = obj{"@type": "vcard:Organization", "vcard:fn": cat.Publisher, "vcard:hasEmail": iri("mailto:" + cat.ContactEmail)}
	}
	if cat.PoliticalGeocoding != "" {
		level, _ := GeocodingLevel(cat.PoliticalGeocoding) // checked by New
		dataset["dcatde:politicalGeocodingURI"] = iri(cat.PoliticalGeocoding)
		dataset["dcatde:politicalGeocodingLevelURI"] = iri(level)
	}
	if cat.ContributorID != "" {
		dataset["dcatde:contributorID"] = iri(cat.ContributorID)
	}
	if !cov.First.IsZero() {
		dataset["dct:temporal"] = period(cov.First, cov.End)
	}
	if cov.HasStations {
		var wkt string
		if cov.West == cov.East && cov.South == cov.North {
			wkt = "POINT(" + point(cov.West, cov.South) + ")"
		} else {
			wkt = "POLYGON((" + point(cov.West, cov.South) + ", " + point(cov.East, cov.South) + ", " + point(cov.East, cov.North) + ", " +
				point(cov.West, cov.North) + ", " + point(cov.West, cov.South) + "))"
		}
		dataset["dct:spatial"] = obj{"@type": "dct:Location", "dcat:bbox": typed(wkt, wktLiteral)}
	}
	service := licensed(obj{
		"@id": staURL, "@type": "dcat:DataService",
		"dct:title":        deEn("Luftqualität in den Quartieren – SensorThings API", "Air quality in the quarters – SensorThings API"),
		"dcat:endpointURL": iri(staURL), "dcat:endpointDescription": iri(staURL),
		"dct:conformsTo":     iri(SensorThingsSpec),
		"dcat:servesDataset": iri(datasetID),
		"dcat:theme":         iri(ThemeEnvironment),
		"dct:publisher":      iri(publisher["@id"].(string)),
	})
	return obj{
		"@context": Context,
		"@id":      base + catalogPath, "@type": "dcat:Catalog",
		"dct:title":       []obj{lang(cat.Title, "de")},
		"dct:description": deEn("Offene Umweltdaten der Quartiersterminals", "Open environmental data of the quarters' terminals"),
		"dct:publisher":   publisher,
		"dct:language":    iri(LanguageGerman),
		"foaf:homepage":   iri(base + indexPath),
		"dct:license":     iri(lic.URI),
		"dcat:dataset":    dataset,
		"dcat:service":    service,
	}, nil
}

// WriteCatalog writes the catalogue record to w.
func (f *Files) WriteCatalog(ctx context.Context, w io.Writer, base string, sizes func(time.Time) (int64, bool)) error {
	c, err := f.Catalog(ctx, base, sizes)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("opendata: catalogue: %w", err)
	}
	return nil
}
