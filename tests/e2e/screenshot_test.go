package e2e

import (
	"bytes"
	"fmt"
	"html"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

var (
	csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	shotRe = regexp.MustCompile(`<img id="screenshot" src="([^"]+)"`)
)

// The real window, drawing with OpenGL on an X display, answers a
// screenshot command from the hub: the picture the console shows is what
// the display shows. (The command rides on the agent's next heartbeat,
// which comes 30 s after its first.)
func TestScreenshotOfTheRealWindow(t *testing.T) {
	needDisplay(t)
	tm := startTerminal(t)
	out, err := tm.hub.CLI(tm.ctx, "command", "send", "--terminal", "e2e-1", "--kind", api.CommandScreenshot)
	must(t, err)
	id, _, _ := strings.Cut(string(out), "\t")
	var result string
	tm.wait("the screenshot command done", func() (bool, error) {
		out, err := tm.hub.CLI(tm.ctx, "command", "list", "--terminal", "e2e-1")
		if err != nil {
			return false, err
		}
		for line := range strings.Lines(string(out)) {
			if f := strings.Fields(line); len(f) > 8 && f[0] == id {
				result = strings.Join(f[8:], " ")
				return f[3] == api.CommandDone || f[3] == api.CommandFailed, nil
			}
		}
		return false, nil
	})
	if !strings.Contains(result, "1280 × 800 pixels") {
		t.Fatalf("screenshot result %q", result)
	}
	tm.screenshot("display")
	shown := decodePNG(t, filepath.Join(tm.art, fmt.Sprintf("%02d-display.png", tm.shots)))
	taken := decodePNG(t, "", tm.consolePicture())
	must(t, os.WriteFile(filepath.Join(tm.art, "screenshot-from-hub.png"), encodePNG(t, taken), 0o644))
	if taken.Bounds() != shown.Bounds() {
		t.Fatalf("the hub's picture is %v, the display %v", taken.Bounds(), shown.Bounds())
	}
	// The same screen, drawn by OpenGL on the display and read back or
	// painted again in software for the hub: glyphs may sit a pixel apart,
	// so compare 16 × 16 blocks by their mean brightness (a block of text
	// a pixel off differs by less than 24 of 255; the clock may have
	// turned a minute: a few dozen blocks).
	blocks, differ := 0, 0
	for by := 0; by+16 <= shown.Bounds().Dy(); by += 16 {
		for bx := 0; bx+16 <= shown.Bounds().Dx(); bx += 16 {
			blocks++
			if d := meanLuma(shown, bx, by) - meanLuma(taken, bx, by); d > 24 || d < -24 {
				differ++
			}
		}
	}
	if differ > blocks/50 {
		t.Errorf("%d of %d blocks differ between the hub's picture and the display (pictures in %s)", differ, blocks, tm.art)
	}
	t.Logf("%d of %d blocks differ", differ, blocks)
}

// meanLuma is the mean brightness (0–255) of the 16 × 16 block at x, y.
func meanLuma(img image.Image, x, y int) float64 {
	sum := 0.0
	for j := range 16 {
		for i := range 16 {
			r, g, b, _ := img.At(x+i, y+j).RGBA()
			sum += (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b)) / 257
		}
	}
	return sum / 256
}

func decodePNG(t *testing.T, path string, b ...[]byte) image.Image {
	t.Helper()
	var data []byte
	if path != "" {
		var err error
		data, err = os.ReadFile(path)
		must(t, err)
	} else {
		data = b[0]
	}
	img, err := png.Decode(bytes.NewReader(data))
	must(t, err)
	return img
}

func encodePNG(t *testing.T, img image.Image) []byte {
	var b bytes.Buffer
	must(t, png.Encode(&b, img))
	return b.Bytes()
}

// consolePicture logs in to the hub's console as a new admin and fetches
// the picture the terminal page shows.
func (tm *terminal) consolePicture() []byte {
	t := tm.t
	t.Helper()
	cmd := exec.CommandContext(tm.ctx, tm.hub.Bin, "user", "add", "--data", tm.hub.Dir, "--name", "it", "--role", "admin", "--password-stdin")
	cmd.Stdin = strings.NewReader("a long enough passphrase\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v: %s", err, out)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrf := ""
	get := func(path string) []byte {
		res, err := c.Get(tm.hub.URL() + path)
		must(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if m := csrfRe.FindSubmatch(b); m != nil {
			csrf = html.UnescapeString(string(m[1]))
		}
		return b
	}
	get("/console/login")
	res, err := c.PostForm(tm.hub.URL()+"/console/login", url.Values{"csrf": {csrf}, "name": {"it"}, "password": {"a long enough passphrase"}})
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", res.StatusCode)
	}
	m := shotRe.FindSubmatch(get("/console/terminals/e2e-1"))
	if m == nil {
		t.Fatal("the terminal page shows no picture")
	}
	return get(html.UnescapeString(string(m[1])))
}
