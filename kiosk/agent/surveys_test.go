package agent

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

// One response per survey and respondent, across restarts; a response
// that was not stored does not count; a malformed one is refused.
func TestSurveyOnce(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	stored := 0
	store := func() error { stored++; return nil }
	o, err := loadSurveyOnce(dir, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.answer("park", a, store); err != nil || stored != 1 {
		t.Fatalf("first answer: %v, %d stored", err, stored)
	}
	if err := o.answer("park", a, store); !errors.Is(err, localapi.ErrAlreadyAnswered) || stored != 1 {
		t.Fatalf("second answer: %v, %d stored", err, stored)
	}
	if err := o.answer("bench", a, store); err != nil || stored != 2 {
		t.Fatalf("another survey: %v", err)
	}
	failed := errors.New("disk full")
	if err := o.answer("park", b, func() error { return failed }); !errors.Is(err, failed) {
		t.Fatalf("failed store: %v", err)
	}
	if err := o.answer("park", b, store); err != nil || stored != 3 {
		t.Fatalf("after a failed store: %v", err)
	}
	for _, bad := range [][2]string{{"", a}, {"park", "short"}, {"pa\trk", a}, {"pa\nrk", a}} {
		if err := o.answer(bad[0], bad[1], store); !errors.Is(err, localapi.ErrInvalid) {
			t.Errorf("%q: %v", bad, err)
		}
	}

	o, err = loadSurveyOnce(dir, log)
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range [][2]string{{"park", a}, {"bench", a}, {"park", b}} {
		if err := o.answer(who[0], who[1], store); !errors.Is(err, localapi.ErrAlreadyAnswered) {
			t.Errorf("%s after a restart: %v", who[0], err)
		}
	}
	got, _ := os.ReadFile(filepath.Join(dir, RespondentFile))
	if want := "park\t" + a + "\nbench\t" + a + "\npark\t" + b + "\n"; string(got) != want {
		t.Fatalf("file:\n%q\nwant\n%q", got, want)
	}
}
