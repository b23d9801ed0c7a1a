package console

import (
	"bytes"
	"mime/multipart"
	"os"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// FuzzReleaseForm reads arbitrary multipart bodies as the release form
// (after the CSRF part guard consumed): it never panics, a form it
// accepts has a version, a targets.json and an artifact within their
// bounds, and no spooled file outlives a refused form.
func FuzzReleaseForm(f *testing.F) {
	var seed bytes.Buffer
	mw := multipart.NewWriter(&seed)
	mw.SetBoundary("B")
	mw.WriteField("version", "1.4.0")
	w, _ := mw.CreateFormFile("targets", "targets.json")
	w.Write([]byte(`{"signed":{"_type":"targets"},"signatures":[]}`))
	w, _ = mw.CreateFormFile("artifact", "a.tar.gz")
	w.Write([]byte("artifact"))
	mw.Close()
	f.Add(seed.Bytes())
	f.Add([]byte("--B\r\nContent-Disposition: form-data; name=\"version\"\r\n\r\n1\r\n--B--\r\n"))
	f.Add([]byte("--B\r\nContent-Disposition: form-data; name=\"artifact\"; filename=\"x\"\r\n\r\n\r\n--B\r\nContent-Disposition: form-data; name=\"artifact\"\r\n\r\nx\r\n--B--\r\n"))
	f.Add([]byte("--B\r\n\r\n--B--"))
	f.Fuzz(func(t *testing.T, body []byte) {
		dir := t.TempDir()
		c := &Console{o: Opts{TempDir: dir}}
		form, problem, err := c.readReleaseForm(multipart.NewReader(bytes.NewReader(body), "B"))
		if form.artifact != nil {
			if problem == nil && err == nil {
				if form.artifact.size <= 0 || len(form.artifact.sha256) != 32 {
					t.Fatalf("accepted artifact of %d bytes, hash %x", form.artifact.size, form.artifact.sha256)
				}
				checkReleaseForm(form) // must not panic on any targets.json
			}
			os.Remove(form.artifact.path)
		}
		if problem == nil && err == nil && (form.version == "" || len(form.version) > 64 || len(form.targets) == 0) {
			t.Fatalf("accepted a form without version or targets: %q, %d bytes", form.version, len(form.targets))
		}
		if left, _ := os.ReadDir(dir); len(left) > 0 {
			t.Fatalf("spooled files left behind: %v", left)
		}
	})
}

// FuzzWindowProblem: a window the console accepts is one the API
// accepts, and nothing a person types makes it panic.
func FuzzWindowProblem(f *testing.F) {
	f.Add("mon,tue", "02:00", 120, "Europe/Berlin")
	f.Add("", "25:00", 0, "")
	f.Add("sun", "2:00", 1440, "Local")
	f.Add("fri", "23:59", 1441, "Mars/Olympus")
	f.Fuzz(func(t *testing.T, days, start string, minutes int, zone string) {
		w := api.MaintenanceWindow{Days: weekdaysInOrder(strings.Split(days, ",")), Start: start, DurationMinutes: minutes, TimeZone: zone}
		if windowProblem(w) == nil {
			if err := w.Validate(); err != nil {
				t.Fatalf("console accepted %+v, the API refuses it: %v", w, err)
			}
		}
	})
}
