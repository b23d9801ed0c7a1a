package charts

// Summary is what a chart's text alternative says: how many points, the
// latest, the lowest and the highest (the first of equals).
type Summary struct {
	Count            int
	Latest, Min, Max Point
}

// Summarize summarises pts (oldest first); ok is false when none has a
// finite value.
func Summarize(pts []Point) (s Summary, ok bool) {
	for _, p := range pts {
		if !finite(p.Value) {
			continue
		}
		if s.Count == 0 || p.Value < s.Min.Value {
			s.Min = p
		}
		if s.Count == 0 || p.Value > s.Max.Value {
			s.Max = p
		}
		s.Latest = p
		s.Count++
	}
	return s, s.Count > 0
}
