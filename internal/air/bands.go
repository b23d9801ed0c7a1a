package air

// Level is how good a sensor value is, 1 (very good) to 5 (very bad), in
// bands a resident can act on. Every level has a word and an advice in the
// translation files (the terminal's air.level.N, air.advice.QUANTITY.N; the
// hub's pages have their own), so no page conveys a level by colour alone.
type Level int

// Thresholds are the upper bounds of levels 1–4; above the last is 5.
type Thresholds [4]float64

// The bands: PM2.5 and PM10 follow the German Umweltbundesamt's air
// quality index (hourly values, µg/m³: very good, good, moderate, poor,
// very poor); CO2 follows the Umweltbundesamt's indoor guidance (below
// 1000 ppm harmless, 1000–2000 elevated, above 2000 unacceptable), split
// finer at the low end because an outdoor terminal reads 400–500 ppm.
var thresholds = map[string]Thresholds{
	"pm25": {10, 20, 25, 50},
	"pm10": {20, 35, 50, 100},
	"co2":  {800, 1000, 1400, 2000},
}

// ThresholdsOf returns the bands of a quantity.
func ThresholdsOf(quantity string) (Thresholds, bool) {
	t, ok := thresholds[quantity]
	return t, ok
}

// LevelOf returns the level of value for quantity (0 if unknown).
func LevelOf(quantity string, value float64) Level {
	t, ok := thresholds[quantity]
	if !ok || value < 0 {
		return 0
	}
	for i, up := range t {
		if value <= up {
			return Level(i + 1)
		}
	}
	return 5
}
