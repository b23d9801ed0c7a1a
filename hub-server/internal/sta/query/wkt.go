package query

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// parseWKT reads the well-known text of a geography literal: POINT(x y),
// POLYGON((x y, ...), (hole...)) or MULTIPOLYGON(((...)), ((...))), x the
// longitude, y the latitude. At most maxPoints points in all.
func parseWKT(s string, maxPoints int) (Geometry, error) {
	// base is where body starts in the literal's text, for positions:
	// its first "(" (neither spaces nor an SRID= prefix hold one).
	base := strings.IndexByte(s, '(')
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ';'); i >= 0 && strings.HasPrefix(strings.ToUpper(s), "SRID=") {
		if srid := strings.TrimSpace(s[5:i]); srid != "4326" {
			return Geometry{}, fmt.Errorf("SRID %s: only 4326 (WGS 84)", srid)
		}
		s = strings.TrimSpace(s[i+1:])
	}
	kind, body, ok := strings.Cut(s, "(")
	if !ok || !strings.HasSuffix(body, ")") {
		return Geometry{}, errors.New("expected TYPE(...)")
	}
	kind = strings.ToUpper(strings.TrimSpace(kind))
	body = "(" + body
	w := &wktReader{s: body, max: maxPoints, base: base}
	var g Geometry
	switch kind {
	case "POINT":
		ring, err := w.ring()
		if err != nil {
			return g, err
		}
		if len(ring) != 1 {
			return g, errors.New("a POINT has one position")
		}
		g = Geometry{Type: kind, Polygons: [][][][2]float64{{ring}}}
	case "POLYGON":
		poly, err := w.polygon()
		if err != nil {
			return g, err
		}
		g = Geometry{Type: kind, Polygons: [][][][2]float64{poly}}
	case "MULTIPOLYGON":
		if err := w.open(); err != nil {
			return g, err
		}
		g.Type = kind
		for {
			poly, err := w.polygon()
			if err != nil {
				return g, err
			}
			g.Polygons = append(g.Polygons, poly)
			if !w.comma() {
				break
			}
		}
		if err := w.close(); err != nil {
			return g, err
		}
	default:
		return g, fmt.Errorf("geometry type %q not supported (POINT, POLYGON, MULTIPOLYGON)", kind)
	}
	w.space()
	if w.i != len(w.s) {
		return g, fmt.Errorf("unexpected %q after the geometry", w.s[w.i:])
	}
	return g, nil
}

type wktReader struct {
	s      string
	i      int
	points int
	max    int
	base   int // where s starts in the literal's text
}

func (w *wktReader) space() {
	for w.i < len(w.s) && (w.s[w.i] == ' ' || w.s[w.i] == '\t' || w.s[w.i] == '\n' || w.s[w.i] == '\r') {
		w.i++
	}
}

func (w *wktReader) punct(c byte) bool {
	w.space()
	if w.i < len(w.s) && w.s[w.i] == c {
		w.i++
		return true
	}
	return false
}

func (w *wktReader) open() error {
	if !w.punct('(') {
		return &wktError{w.base + w.i, `expected "("`}
	}
	return nil
}

func (w *wktReader) close() error {
	if !w.punct(')') {
		return &wktError{w.base + w.i, `expected ")"`}
	}
	return nil
}

func (w *wktReader) comma() bool { return w.punct(',') }

func (w *wktReader) number() (float64, error) {
	w.space()
	start := w.i
	for w.i < len(w.s) && strings.IndexByte("+-.0123456789eE", w.s[w.i]) >= 0 {
		w.i++
	}
	f, err := strconv.ParseFloat(w.s[start:w.i], 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, &wktError{w.base + start, "bad number"}
	}
	return f, nil
}

// ring reads (x y, x y, ...).
func (w *wktReader) ring() ([][2]float64, error) {
	if err := w.open(); err != nil {
		return nil, err
	}
	var r [][2]float64
	for {
		x, err := w.number()
		if err != nil {
			return nil, err
		}
		y, err := w.number()
		if err != nil {
			return nil, err
		}
		if x < -180 || x > 180 || y < -90 || y > 90 {
			return nil, fmt.Errorf("position %g %g is not longitude latitude", x, y)
		}
		w.points++
		if w.points > w.max {
			return nil, fmt.Errorf("more than %d positions", w.max)
		}
		r = append(r, [2]float64{x, y})
		if !w.comma() {
			break
		}
	}
	return r, w.close()
}

// polygon reads ((ring), (ring)...); rings must be closed and have at
// least four positions.
func (w *wktReader) polygon() ([][][2]float64, error) {
	if err := w.open(); err != nil {
		return nil, err
	}
	var rings [][][2]float64
	for {
		r, err := w.ring()
		if err != nil {
			return nil, err
		}
		if len(r) < 4 || r[0] != r[len(r)-1] {
			return nil, errors.New("a polygon's ring needs at least four positions and must end where it starts")
		}
		rings = append(rings, r)
		if !w.comma() {
			break
		}
	}
	return rings, w.close()
}

// wktError is a mistake at a byte offset of the literal's text; the
// parser reports it at its place in the option.
type wktError struct {
	pos int
	msg string
}

func (e *wktError) Error() string { return fmt.Sprintf("%s at %d of the literal", e.msg, e.pos) }
