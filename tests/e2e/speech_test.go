package e2e

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/kiosk/a11y"
	"github.com/quartierhub/quartierhub/kiosk/session"
	"github.com/quartierhub/quartierhub/kiosk/speech"
)

// A resident who cannot see the screen reports a problem with the
// keyboard alone, through the real window, its real espeak-ng and aplay,
// and hears the reference number the hub's record has.
func TestReportBySpeechAndKeys(t *testing.T) {
	needDisplay(t)
	tm := startTerminal(t)

	// The first key turns speech on, says how the keys work and starts a
	// session: the home screen, its focus on the first tile.
	tm.key("Down")
	tm.heard("Die Sprachausgabe ist an.")
	tm.heard("Problem melden")
	tm.choose("Problem melden")
	tm.choose("Müll oder Sperrmüll")
	tm.choose("Weiter") // no description: the keyboard's next key
	tm.choose("Yenidze / Weißeritzstraße")
	tm.choose("Senden")

	var id string
	tm.wait("the report at the hub", func() (bool, error) {
		recs, err := tm.hub.Export(tm.ctx)
		if err != nil {
			return false, err
		}
		for _, r := range recs {
			if r.Type == "problem_report" {
				id = r.ID
				return true, nil
			}
		}
		return false, nil
	})
	// The number is spelled, so each letter is said as a letter
	// ("A C 8 9, Bindestrich, N Q M R").
	cat, err := assets.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	ref := a11y.Spell(session.Reference(id), func(r rune) string {
		if r == '-' {
			return cat.T("de", "a11y.char.hyphen")
		}
		return ""
	})
	said := tm.heard(ref)
	if !strings.Contains(said, "Beleg") {
		t.Errorf("with the reference number %q the window said %q: nothing of the receipt", ref, said)
	}
	tm.screenshot("speech-thanks")
}

// Plugging in headphones turns speech on without a key: the window
// reads the jack's evdev records (here from a FIFO) and says where the
// resident is.
func TestHeadphonesStartSpeech(t *testing.T) {
	needDisplay(t)
	tm := startTerminal(t)
	jack, err := os.OpenFile(tm.jack, os.O_WRONLY, 0) // the window holds it open for reading
	if err != nil {
		t.Fatal(err)
	}
	defer jack.Close()
	var plug []byte
	plug = speech.AppendInputEvent(plug, speech.InputEvent{Type: 5, Code: 2, Value: 1}, speech.RecordSize) // EV_SW SW_HEADPHONE_INSERT
	plug = speech.AppendInputEvent(plug, speech.InputEvent{}, speech.RecordSize)                           // SYN_REPORT
	if _, err := jack.Write(plug); err != nil {
		t.Fatal(err)
	}
	said := tm.heard("Die Sprachausgabe ist an.")
	if !strings.Contains(said, "Problem melden") {
		t.Errorf("after the welcome the window said %q, not the home screen's first item", said)
	}
}

// spoken is what the window has said so far, a line an utterance.
func (tm *terminal) spoken() []string {
	b, err := os.ReadFile(tm.speech)
	if err != nil {
		return nil
	}
	var out []string
	for l := range strings.SplitSeq(strings.TrimSuffix(string(b), "\n"), "\n") {
		// Language, tab, text (a language's own name is said in it).
		if _, text, ok := strings.Cut(l, "\t"); ok {
			out = append(out, text)
		}
	}
	return out
}

// key presses a key on the window.
func (tm *terminal) key(name string) {
	tm.t.Helper()
	if _, err := tm.x.X(tm.ctx, "xdotool", "search", "--onlyvisible", "--name", "^Quartierhub$", "windowfocus", "--sync", "key", name); err != nil {
		tm.t.Fatalf("xdotool key %s: %v", name, err)
	}
}

// heard waits until the window has said something containing sub, and
// returns that line.
func (tm *terminal) heard(sub string) string {
	tm.t.Helper()
	var line string
	tm.wait("the window to say "+sub, func() (bool, error) {
		for _, l := range tm.spoken() {
			if strings.Contains(l, sub) {
				line = l
				return true, nil
			}
		}
		return false, nil
	})
	return line
}

var itemCount = regexp.MustCompile(`\d+ Einträge\.`)

// choose moves the focus down until the window says label, presses
// Enter and waits for the next screen to be announced (its title and
// item count).
func (tm *terminal) choose(label string) {
	tm.t.Helper()
	for range 80 {
		lines := tm.spoken()
		// The focused item is said last: alone, or after the screen's
		// title and item count.
		if n := len(lines); n > 0 && (strings.HasPrefix(lines[n-1], label+",") || strings.Contains(lines[n-1], ". "+label+",")) {
			tm.key("Return")
			tm.waitSaid(n, func(l string) bool { return itemCount.MatchString(l) })
			return
		}
		tm.key("Down")
		tm.waitSaid(len(lines), func(string) bool { return true })
	}
	tm.t.Fatalf("the focus never came to %q; said:\n%s", label, strings.Join(tm.spoken(), "\n"))
}

// waitSaid waits for a line after the first n that matches.
func (tm *terminal) waitSaid(n int, match func(string) bool) {
	tm.t.Helper()
	ctx, cancel := context.WithTimeout(tm.ctx, 15*time.Second)
	defer cancel()
	for {
		lines := tm.spoken()
		for _, l := range lines[min(n, len(lines)):] {
			if match(l) {
				return
			}
		}
		select {
		case <-ctx.Done():
			tm.t.Fatalf("nothing more said after:\n%s", strings.Join(lines, "\n"))
		case <-time.After(20 * time.Millisecond):
		}
	}
}
