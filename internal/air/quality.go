package air

import "strings"

// Flags are the quality flags of one per-minute observation, a bit set
// stored with it. Raw values are never changed: a flag only says how far
// to trust them. The hub sets them when it stores a minute (Assess) and
// when a later minute or a partner quantity tells it more (PM25AbovePM10,
// FlatLine, HighHumidity).
type Flags uint32

// The flags, in the order they are documented and listed.
const (
	// WarmUp: the sensor was warming up during the minute (SDS011 30 s
	// after its fan starts, MH-Z19B 3 min after power-on); the terminal
	// left those readings out and counted them.
	WarmUp Flags = 1 << iota
	// Incomplete: fewer than 75 % of the expected samples, or the terminal
	// stopped during the minute.
	Incomplete
	// OutOfRange: mean, min or max outside the quantity's plausible range.
	OutOfRange
	// PM25AbovePM10: the minute's PM2.5 mean exceeds its PM10 mean from the
	// same sensor, which is physically impossible (PM10 includes PM2.5).
	PM25AbovePM10
	// FlatLine: every sample identical for FlatLineMinutes minutes in a
	// row: a stuck sensor or a frozen driver.
	FlatLine
	// HighHumidity: the terminal reported relative humidity above
	// HumidityLimit for the minute; optical PM sensors over-read in humid
	// air (fog by a factor of many).
	HighHumidity
)

// Thresholds of the flags.
const (
	// CompleteShare of the expected samples makes a minute complete.
	CompleteShare = 0.75
	// FlatLineMinutes of identical samples make a flat line.
	FlatLineMinutes = 15
	// HumidityLimit is the relative humidity (%) above which PM is flagged.
	HumidityLimit = 70.0
)

var flagNames = []string{"warmup", "incomplete", "out_of_range", "pm25_above_pm10", "flat_line", "high_humidity"}

// Names returns the set flags' names ("warmup", "incomplete",
// "out_of_range", "pm25_above_pm10", "flat_line", "high_humidity") in
// documented order; nil when no flag is set.
func (f Flags) Names() []string {
	var out []string
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// String is the names joined with "|", "" for none (the open data CSV's
// qc_reasons column).
func (f Flags) String() string { return strings.Join(f.Names(), "|") }

// ParseFlag returns the flag named name.
func ParseFlag(name string) (Flags, bool) {
	for i, n := range flagNames {
		if n == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// Verdict summarises the flags in one word, the worst that applies:
// "invalid" (out of range), "warmup", "incomplete", "suspect" (PM2.5 above
// PM10, flat line, high humidity) or "ok". SensorThings'
// resultQuality.flag and the CSV's qc_flag carry it.
func (f Flags) Verdict() string {
	switch {
	case f&OutOfRange != 0:
		return "invalid"
	case f&WarmUp != 0:
		return "warmup"
	case f&Incomplete != 0:
		return "incomplete"
	case f&(PM25AbovePM10|FlatLine|HighHumidity) != 0:
		return "suspect"
	}
	return "ok"
}

// Minute is what a terminal reported for one sensor, quantity and minute:
// the fields of a sensor_minute record the flags depend on.
type Minute struct {
	Quantity        string
	Mean, Min, Max  float64
	Count, Expected int // samples in the statistics; samples a full minute holds
	WarmUp, Invalid int // samples left out
	Partial         bool
}

// Assess returns the flags one minute earns on its own: warm-up,
// incomplete and out of range. The flags that need other minutes
// (PM25AbovePM10, FlatLine, HighHumidity) are the store's, which sees them.
func Assess(m Minute) Flags {
	var f Flags
	if m.WarmUp > 0 {
		f |= WarmUp
	}
	if m.Partial || (m.Expected > 0 && float64(m.Count) < CompleteShare*float64(m.Expected)) {
		f |= Incomplete
	}
	if q, ok := QuantityByID(m.Quantity); ok {
		for _, v := range []float64{m.Mean, m.Min, m.Max} {
			if v < q.Min || v > q.Max || v != v {
				f |= OutOfRange
			}
		}
	}
	return f
}

// Flat reports whether a minute's samples were all identical: the
// ingredient of FlatLine.
func (m Minute) Flat() bool { return m.Count > 1 && m.Min == m.Max }
