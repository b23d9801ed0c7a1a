package session

import "github.com/quartierhub/quartierhub/internal/air"

// Level is how good a sensor value is, 1 (very good) to 5 (very bad); the
// bands are internal/air's, shared with the hub's open data pages.
type Level = air.Level

// Thresholds are the upper bounds of levels 1–4; above the last is 5.
type Thresholds = air.Thresholds

// Quantities the air screen shows, in order.
var Quantities = []string{"pm25", "pm10", "co2"}

// ThresholdsOf returns the bands of a quantity.
func ThresholdsOf(quantity string) (Thresholds, bool) { return air.ThresholdsOf(quantity) }

// LevelOf returns the level of value for quantity (0 if unknown).
func LevelOf(quantity string, value float64) Level { return air.LevelOf(quantity, value) }
