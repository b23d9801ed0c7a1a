package console

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
)

// AirMap is the map the public air page shows the terminals on: XYZ tiles
// (a template with {z}, {x} and {y}, as OpenStreetMap-style servers
// offer) or a WMS's GetMap (the city's geoportal), with the attribution
// its licence asks for. The page has no script: the server picks the zoom
// and the tiles that cover the terminals, and lays them and the markers
// out in one SVG; the page's policy then lets images come from that host
// only.
type AirMap struct {
	// Tiles is an XYZ tile URL template, https://host/{z}/{x}/{y}.png.
	Tiles string
	// WMS is a WMS base URL (GetMap is added) and WMSLayer its layer.
	WMS, WMSLayer string
	// Attribution is shown under the map (e.g. "© OpenStreetMap contributors").
	Attribution string
	// MaxZoom is the closest zoom used. Default 17.
	MaxZoom int
}

// Enabled reports whether a map is configured.
func (m AirMap) Enabled() bool { return m.Tiles != "" || m.WMS != "" }

// Check says what is wrong with m, if anything.
func (m AirMap) Check() error {
	if m.Tiles != "" && m.WMS != "" {
		return errors.New("console: air map: tiles or WMS, not both")
	}
	raw := m.Tiles
	if m.WMS != "" {
		raw = m.WMS
		if m.WMSLayer == "" {
			return errors.New("console: air map: a WMS needs a layer")
		}
	}
	if raw == "" {
		return nil
	}
	if m.Tiles != "" {
		for _, p := range []string{"{z}", "{x}", "{y}"} {
			if !strings.Contains(m.Tiles, p) {
				return fmt.Errorf("console: air map: tile template %q lacks %s", m.Tiles, p)
			}
		}
	}
	u, err := url.Parse(strings.NewReplacer("{z}", "0", "{x}", "0", "{y}", "0").Replace(raw))
	if err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.User != nil {
		return fmt.Errorf("console: air map: %q is not an http(s) URL", raw)
	}
	if m.MaxZoom < 0 || m.MaxZoom > 20 {
		return fmt.Errorf("console: air map: max zoom %d outside 0..20", m.MaxZoom)
	}
	return nil
}

// origin is the map's scheme and host, for the page's img-src.
func (m AirMap) origin() string {
	raw := m.Tiles
	if raw == "" {
		raw = m.WMS
	}
	u, err := url.Parse(strings.NewReplacer("{z}", "0", "{x}", "0", "{y}", "0").Replace(raw))
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// mapView is a laid-out map: an SVG in world pixels at the chosen zoom.
type mapView struct {
	ViewBox     string
	Tiles       []mapTile
	Markers     []mapMarker
	Attribution string
}

type mapTile struct {
	X, Y, W, H float64
	URL        string
}

type mapMarker struct {
	X, Y       float64
	Label, URL string
	Level      int
	// TextX is where the label starts; right of the marker, or left
	// when the marker is near the map's right edge.
	TextX  float64
	Anchor string
}

type mapPlace struct {
	Lat, Lon   float64
	Label, URL string
	Level      int
}

// Map frame in world pixels; phones scale it down.
const (
	mapW, mapH = 800, 480
	mapPad     = 60
	tileSize   = 256
)

// worldPixel is a WGS 84 point in Web Mercator pixels at zoom z.
func worldPixel(lat, lon float64, z int) (x, y float64) {
	n := tileSize * math.Exp2(float64(z))
	lat = max(min(lat, 85.0511), -85.0511)
	r := lat * math.Pi / 180
	x = (lon + 180) / 360 * n
	y = (1 - math.Log(math.Tan(r)+1/math.Cos(r))/math.Pi) / 2 * n
	return x, y
}

// layout fits places into the frame at the closest zoom that holds them
// all, and lists the tiles (or the one WMS picture) that cover it.
func (m AirMap) layout(places []mapPlace) (mapView, bool) {
	if !m.Enabled() || len(places) == 0 {
		return mapView{}, false
	}
	maxZoom := m.MaxZoom
	if maxZoom == 0 {
		maxZoom = 17
	}
	z := maxZoom
	var minX, minY, maxX, maxY float64
	for ; z >= 0; z-- {
		minX, minY, maxX, maxY = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, p := range places {
			x, y := worldPixel(p.Lat, p.Lon, z)
			minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
		}
		if maxX-minX <= mapW-2*mapPad && maxY-minY <= mapH-2*mapPad || z == 0 {
			break
		}
	}
	z = max(z, 0)
	cx, cy := (minX+maxX)/2, (minY+maxY)/2
	x0, y0 := math.Round(cx-mapW/2), math.Round(cy-mapH/2)
	v := mapView{ViewBox: fmt.Sprintf("%g %g %d %d", x0, y0, mapW, mapH), Attribution: m.Attribution}
	n := int(math.Exp2(float64(z)))
	if m.Tiles != "" {
		for ty := int(math.Floor(y0 / tileSize)); ty <= int(math.Floor((y0+mapH-1)/tileSize)); ty++ {
			if ty < 0 || ty >= n {
				continue
			}
			for tx := int(math.Floor(x0 / tileSize)); tx <= int(math.Floor((x0+mapW-1)/tileSize)); tx++ {
				wx := ((tx % n) + n) % n // the world repeats east and west
				u := strings.NewReplacer("{z}", strconv.Itoa(z), "{x}", strconv.Itoa(wx), "{y}", strconv.Itoa(ty)).Replace(m.Tiles)
				v.Tiles = append(v.Tiles, mapTile{X: float64(tx * tileSize), Y: float64(ty * tileSize), W: tileSize, H: tileSize, URL: u})
			}
		}
	} else {
		v.Tiles = []mapTile{{X: x0, Y: y0, W: mapW, H: mapH, URL: m.getMap(x0, y0, z)}}
	}
	for _, p := range places {
		x, y := worldPixel(p.Lat, p.Lon, z)
		mk := mapMarker{X: math.Round(x*10) / 10, Y: math.Round(y*10) / 10, Label: p.Label, URL: p.URL, Level: p.Level, TextX: x + 14, Anchor: "start"}
		if x-x0 > mapW*0.6 {
			mk.TextX, mk.Anchor = x-14, "end"
		}
		v.Markers = append(v.Markers, mk)
	}
	return v, true
}

// getMap is the WMS GetMap URL of the frame at (x0, y0), zoom z, in
// EPSG:3857 (the tiles' projection, so markers land alike), at twice the
// frame's pixels for sharp screens.
func (m AirMap) getMap(x0, y0 float64, z int) string {
	const r = 6378137.0
	n := tileSize * math.Exp2(float64(z))
	mx := func(px float64) float64 { return px/n*2*math.Pi*r - math.Pi*r }
	my := func(py float64) float64 { return math.Pi*r - py/n*2*math.Pi*r }
	q := url.Values{"SERVICE": {"WMS"}, "VERSION": {"1.3.0"}, "REQUEST": {"GetMap"}, "LAYERS": {m.WMSLayer}, "STYLES": {""},
		"CRS": {"EPSG:3857"}, "FORMAT": {"image/png"}, "WIDTH": {strconv.Itoa(2 * mapW)}, "HEIGHT": {strconv.Itoa(2 * mapH)},
		"BBOX": {fmt.Sprintf("%.2f,%.2f,%.2f,%.2f", mx(x0), my(y0+mapH), mx(x0+mapW), my(y0))}}
	sep := "?"
	if strings.Contains(m.WMS, "?") {
		sep = "&"
	}
	return m.WMS + sep + q.Encode()
}
