// Package air is what Quartierhub knows about the air its terminals
// measure, shared by the terminal's air screen and the hub's open data:
// the quantities (their vocabulary URIs, UCUM units, plausible ranges and
// the bands a resident can act on), the sensor models, and the quality
// flags the hub computes for every per-minute observation.
//
// No I/O and no dependencies beyond the standard library, so the kiosk's
// window and the hub (SensorThings API, open data files, charts) draw the
// same bands and speak the same words.
package air

// Quantity describes one measured quantity as it is published.
type Quantity struct {
	// ID is the quantity's name on the wire (sensor_minute records) and in
	// URLs: "pm25", "pm10", "co2".
	ID string
	// Name and Description in English, for SensorThings
	// ObservedProperties and the open data files.
	Name, Description string
	// Definition is the EEA/Eionet air quality pollutant vocabulary URI.
	Definition string
	// Unit is the terminal's unit string ("ug/m3", "ppm"), Symbol the one
	// shown to people and UCUM the unified code for units of measure.
	Unit, Symbol, UCUM, UnitName string
	// Min and Max bound a plausible value: the sensor's measuring range
	// (and, for CO2, the outdoor ambient floor with a margin). A minute
	// whose mean, min or max lies outside is flagged out of range.
	Min, Max float64
}

// Quantities are the published quantities, in the order pages show them.
var Quantities = []Quantity{
	{
		ID: "pm25", Name: "PM2.5", Description: "Mass concentration of particulate matter with an aerodynamic diameter of at most 2.5 µm in ambient air",
		Definition: "http://dd.eionet.europa.eu/vocabulary/aq/pollutant/6001",
		Unit:       "ug/m3", Symbol: "µg/m³", UCUM: "ug/m3", UnitName: "microgram per cubic metre",
		Min: 0, Max: 999.9,
	},
	{
		ID: "pm10", Name: "PM10", Description: "Mass concentration of particulate matter with an aerodynamic diameter of at most 10 µm in ambient air",
		Definition: "http://dd.eionet.europa.eu/vocabulary/aq/pollutant/5",
		Unit:       "ug/m3", Symbol: "µg/m³", UCUM: "ug/m3", UnitName: "microgram per cubic metre",
		Min: 0, Max: 999.9,
	},
	{
		ID: "co2", Name: "CO2", Description: "Carbon dioxide mole fraction in air",
		Definition: "http://dd.eionet.europa.eu/vocabulary/aq/pollutant/71",
		Unit:       "ppm", Symbol: "ppm", UCUM: "[ppm]", UnitName: "part per million",
		Min: 350, Max: 10000,
	},
}

// QuantityByID returns the published quantity named id.
func QuantityByID(id string) (Quantity, bool) {
	for _, q := range Quantities {
		if q.ID == id {
			return q, true
		}
	}
	return Quantity{}, false
}

// Humidity is the quantity name a terminal would report relative humidity
// under (a sensor such as a BME280). It is not published; it only flags the
// particulate matter of the same terminal and minute (HighHumidity).
const Humidity = "humidity"

// Model is a sensor model as published (SensorThings Sensors).
type Model struct {
	// ID is the driver's kind on the terminal: "sds011", "mhz19".
	ID, Name, Description string
	// Datasheet is the manufacturer's datasheet (SensorThings
	// encodingType application/pdf, metadata = this URL).
	Datasheet string
	// Quantities it measures.
	Quantities []string
	// SamplesPerMinute is what a minute holds when the terminal samples at
	// the driver's default rate and no sample is lost: the SDS011 reports
	// every second in active mode, the MH-Z19B is polled every 5 s. A
	// sensor_minute record's own "expected" field wins when present.
	SamplesPerMinute int
}

// Models are the sensor models the terminal's drivers speak.
var Models = []Model{
	{
		ID: "sds011", Name: "Nova Fitness SDS011",
		Description: "Laser scattering particulate matter sensor (PM2.5, PM10), 0–999.9 µg/m³, resolution 0.3 µg/m³",
		Datasheet:   "https://cdn-reichelt.de/documents/datenblatt/X200/SDS011-DATASHEET.pdf",
		Quantities:  []string{"pm25", "pm10"}, SamplesPerMinute: 60,
	},
	{
		ID: "mhz19", Name: "Winsen MH-Z19B",
		Description: "Non-dispersive infrared (NDIR) CO2 sensor, 0–5000 ppm, ±(50 ppm + 5 % of reading)",
		Datasheet:   "https://www.winsen-sensor.com/d/files/infrared-gas-sensor/mh-z19b-co2-ver1_0.pdf",
		Quantities:  []string{"co2"}, SamplesPerMinute: 12,
	},
}

// ModelByID returns the model named id.
func ModelByID(id string) (Model, bool) {
	for _, m := range Models {
		if m.ID == id {
			return m, true
		}
	}
	return Model{}, false
}

// ModelFor returns the model of a sensor: the model the record names, else
// the one that measures quantity (records of agents before the model was
// sent). ok is false when neither says.
func ModelFor(model, quantity string) (Model, bool) {
	if m, ok := ModelByID(model); ok {
		return m, true
	}
	for _, m := range Models {
		for _, q := range m.Quantities {
			if q == quantity {
				return m, true
			}
		}
	}
	return Model{}, false
}
