package speech_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/a11y"
	"github.com/quartierhub/quartierhub/kiosk/speech"
)

// events collects what an Espeak observes, for waiting on.
type events chan speech.Event

func (ev events) observe(e speech.Event) { ev <- e }

// next waits for the next event of kind, skipping others.
func (ev events) next(t *testing.T, kind speech.EventKind) speech.Event {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e := <-ev:
			if e.Kind == kind {
				return e
			}
		case <-timeout:
			t.Fatalf("no event of kind %d", kind)
		}
	}
}

// none asserts that no event of kind is waiting.
func (ev events) none(t *testing.T, kind speech.EventKind) {
	t.Helper()
	for {
		select {
		case e := <-ev:
			if e.Kind == kind {
				t.Fatalf("unexpected event %+v", e)
			}
		default:
			return
		}
	}
}

func needEspeak(t *testing.T) {
	t.Helper()
	for _, c := range []string{"espeak-ng", "aplay"} {
		if _, err := exec.LookPath(c); err != nil {
			// As the repository's other tools: skipped here, never in CI.
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed (provisioning/dev/deps.sh test): %v", c, err)
			}
			t.Skipf("%s is needed (provisioning/dev/deps.sh test): %v", c, err)
		}
	}
}

// recordingEspeak is a script that runs the real espeak-ng after writing
// its arguments to a file, one call a line.
func recordingEspeak(t *testing.T) (cmd, argsFile string) {
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	cmd = filepath.Join(dir, "espeak")
	script := "#!/bin/sh\necho \"$@\" >>" + argsFile + "\nexec espeak-ng \"$@\"\n"
	if err := os.WriteFile(cmd, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return cmd, argsFile
}

func start(t *testing.T, opts speech.Options) (*speech.Espeak, events) {
	t.Helper()
	needEspeak(t)
	ev := make(events, 1000)
	opts.Observe = ev.observe
	s, err := speech.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return s, ev
}

func isWAV(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 1000 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("%s: %d bytes, not a WAV stream with audio (%q…)", path, len(b), b[:min(len(b), 12)])
	}
	return b
}

func TestSaySpeaksEachLanguageWithItsVoice(t *testing.T) {
	espeak, argsFile := recordingEspeak(t)
	out := filepath.Join(t.TempDir(), "played")
	s, ev := start(t, speech.Options{Espeak: espeak, Player: []string{"sh", "-c", "cat >>" + out}})
	texts := map[string]string{
		"de": "Guten Tag", "en": "Good morning", "uk": "Добрий день", "ru": "Добрый день",
		"tr": "İyi günler", "vi": "Xin chào", "ar": "مرحبا",
	}
	for _, lang := range speech.Languages() {
		s.Say(a11y.Utterance{Text: texts[lang], Lang: lang})
		e := ev.next(t, speech.Ended)
		if e.Err != nil || e.Interrupted || e.Text != texts[lang] {
			t.Fatalf("%s: %+v", lang, e)
		}
	}
	s.Say(a11y.Utterance{Text: "schnell und laut", Lang: "de", Rate: 1000, Volume: 150})
	if e := ev.next(t, speech.Ended); e.Err != nil {
		t.Fatal(e.Err)
	}
	// A loud terminal: its normal volume is espeak-ng's amplitude 150.
	loud, loudEv := start(t, speech.Options{Espeak: espeak, Player: []string{"sh", "-c", "cat >/dev/null"}, Volume: 150, Rate: 200})
	for _, volume := range []int{0, 120, 200} {
		loud.Say(a11y.Utterance{Text: "laut", Lang: "en", Volume: volume})
		if e := loudEv.next(t, speech.Ended); e.Err != nil {
			t.Fatal(e.Err)
		}
	}
	b, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	want := []string{
		"--stdout -b 1 -v de -s 175 -a 100", "--stdout -b 1 -v en-gb -s 175 -a 100",
		"--stdout -b 1 -v uk -s 175 -a 100", "--stdout -b 1 -v ru -s 175 -a 100",
		"--stdout -b 1 -v tr -s 175 -a 100", "--stdout -b 1 -v vi -s 175 -a 100",
		"--stdout -b 1 -v ar -s 175 -a 100",
		"--stdout -b 1 -v de -s 450 -a 150", // the rate clamped
		"--stdout -b 1 -v en-gb -s 200 -a 150",
		"--stdout -b 1 -v en-gb -s 200 -a 180",
		"--stdout -b 1 -v en-gb -s 200 -a 200", // 300 clamped
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("espeak-ng ran with\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// Eight utterances, eight WAV streams, each with audio.
	played := isWAV(t, out)
	if n := bytes.Count(played, []byte("RIFF")); n != 8 {
		t.Fatalf("the player got %d WAV streams, want 8", n)
	}
}

// slowPlayer takes audio as slowly as a sound card (espeak-ng makes a
// minute of speech in tens of milliseconds, and aplay's null device
// does not wait for it): it never reads, so espeak-ng blocks on the full
// pipe.
var slowPlayer = []string{"sleep", "600"}

// forkingPlayer is a slow player whose shell waits for a child of its
// own: the child must die with the group.
var forkingPlayer = []string{"sh", "-c", "sleep 600; true"}

// aliveInGroup lists the processes of group pgid that are not zombies
// (a killed grandchild stays a zombie until init reaps it).
func aliveInGroup(t *testing.T, pgid int) []string {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var alive []string
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp …; comm may hold spaces.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			alive = append(alive, string(b[:bytes.LastIndexByte(b, ')')+1]))
		}
	}
	return alive
}

func TestStopKillsTheProcessGroupWithin100ms(t *testing.T) {
	s, ev := start(t, speech.Options{Player: slowPlayer, HeadphonePlayer: forkingPlayer})
	long := strings.Repeat("Dies ist ein langer Satz, der lange dauert. ", 80)
	for i := range 4 {
		forking := i%2 == 1
		s.SetHeadphones(forking)
		s.Say(a11y.Utterance{Text: long, Lang: "de"})
		started := ev.next(t, speech.Started)
		ev.next(t, speech.FirstAudio)
		if err := syscall.Kill(-started.Pgid, 0); err != nil {
			t.Fatalf("the group of a running utterance: %v", err)
		}
		stopAt := time.Now()
		s.Stop()
		ended := ev.next(t, speech.Ended)
		took := ended.At.Sub(stopAt)
		t.Logf("stopped in %v", took)
		if !ended.Interrupted || ended.Pgid != started.Pgid {
			t.Fatalf("ended %+v: the utterance was not interrupted", ended)
		}
		if took > 100*time.Millisecond {
			t.Fatalf("Stop took %v, want at most 100 ms", took)
		}
		if alive := aliveInGroup(t, started.Pgid); len(alive) > 0 {
			t.Fatalf("process group %d after Stop: %q alive", started.Pgid, alive)
		}
		if forking {
			continue
		}
		// Both processes are reaped: the group is gone.
		if err := syscall.Kill(-started.Pgid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Fatalf("process group %d after Stop: %v, want ESRCH", started.Pgid, err)
		}
	}
}

func TestSayInterruptsTheUtteranceBefore(t *testing.T) {
	s, ev := start(t, speech.Options{Player: slowPlayer})
	s.Say(a11y.Utterance{Text: strings.Repeat("Erster langer Text. ", 60), Lang: "de"})
	first := ev.next(t, speech.Started)
	s.Say(a11y.Utterance{Text: "Zweiter", Lang: "de"})
	e := ev.next(t, speech.Ended)
	s.Stop()
	if e.Pgid != first.Pgid || !e.Interrupted {
		t.Fatalf("first utterance %+v: want it interrupted", e)
	}
	second := ev.next(t, speech.Started)
	if second.Text != "Zweiter" {
		t.Fatalf("started %q", second.Text)
	}
	if e := ev.next(t, speech.Ended); e.Pgid != second.Pgid {
		t.Fatalf("second utterance: %+v", e)
	}
}

func TestPrivateOnlyIntoHeadphones(t *testing.T) {
	dir := t.TempDir()
	speaker, phones := filepath.Join(dir, "speaker"), filepath.Join(dir, "phones")
	var transcript bytes.Buffer
	s, ev := start(t, speech.Options{
		Player:          []string{"sh", "-c", "cat >>" + speaker},
		HeadphonePlayer: []string{"sh", "-c", "cat >>" + phones},
		Transcript:      &transcript,
	})
	s.Say(a11y.Utterance{Text: "Ihre Nummer ist 4711", Lang: "de", Private: true})
	if e := ev.next(t, speech.Dropped); e.Text != "Ihre Nummer ist 4711" {
		t.Fatalf("dropped %+v", e)
	}
	ev.none(t, speech.Started)
	s.Say(a11y.Utterance{Text: "Öffentlich", Lang: "de"})
	ev.next(t, speech.Ended)
	if _, err := os.Stat(phones); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the headphones played before they were plugged in: %v", err)
	}
	loud := isWAV(t, speaker)

	s.SetHeadphones(true)
	s.Say(a11y.Utterance{Text: "Ihre Nummer ist 4711", Lang: "de", Private: true})
	if e := ev.next(t, speech.Ended); e.Err != nil || e.Interrupted {
		t.Fatalf("private into headphones: %+v", e)
	}
	isWAV(t, phones)
	if b, _ := os.ReadFile(speaker); !bytes.Equal(b, loud) {
		t.Fatal("the loudspeaker played the private utterance")
	}

	if got := transcript.String(); got != "de\tÖffentlich\n" {
		t.Fatalf("transcript %q: want only the public utterance", got)
	}
}

func TestUnpluggingInterruptsPrivateSpeech(t *testing.T) {
	s, ev := start(t, speech.Options{HeadphonePlayer: slowPlayer})
	s.SetHeadphones(true)
	s.Say(a11y.Utterance{Text: "Öffentlich", Lang: "de"})
	public := ev.next(t, speech.Started)
	s.SetHeadphones(false)
	s.SetHeadphones(true)
	ev.none(t, speech.Ended) // only private speech stops
	s.Say(a11y.Utterance{Text: "Ihre Nummer ist 4711", Lang: "de", Private: true})
	if e := ev.next(t, speech.Ended); e.Pgid != public.Pgid || !e.Interrupted {
		t.Fatalf("%+v", e)
	}
	started := ev.next(t, speech.Started)
	s.SetHeadphones(false)
	if e := ev.next(t, speech.Ended); e.Pgid != started.Pgid || !e.Interrupted {
		t.Fatalf("after unplugging: %+v", e)
	}
	if err := syscall.Kill(-started.Pgid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("process group %d after unplugging: %v", started.Pgid, err)
	}
}

func TestMissingProgramsAreAClearError(t *testing.T) {
	if _, err := speech.New(speech.Options{Espeak: "no-such-espeak-ng"}); err == nil || !strings.Contains(err.Error(), "no-such-espeak-ng") {
		t.Fatalf("missing espeak-ng: %v", err)
	}
	if _, err := speech.New(speech.Options{Player: []string{"/no/such/aplay"}}); err == nil || !strings.Contains(err.Error(), "/no/such/aplay") {
		t.Fatalf("missing player: %v", err)
	}
	if _, err := speech.New(speech.Options{HeadphonePlayer: []string{""}}); err == nil {
		t.Fatal("an empty player command was taken")
	}
}

func TestFailingPlayerIsReported(t *testing.T) {
	// A player that cannot open its device, as aplay on a machine without
	// that card: the utterance ends with aplay's own message.
	s, ev := start(t, speech.Options{Player: []string{"aplay", "-q", "-D", "hw:QuartierhubNoSuchCard"}})
	s.Say(a11y.Utterance{Text: "Hallo", Lang: "de"})
	e := ev.next(t, speech.Ended)
	if e.Err == nil || !strings.Contains(e.Err.Error(), "aplay") {
		t.Fatalf("ended %+v: want aplay's failure", e)
	}
}

func TestCleanText(t *testing.T) {
	if got := speech.CleanText(" a\x00b\nc\xff "); got != "a b c" {
		t.Fatalf("%q", got)
	}
	long := strings.Repeat("ä", speech.MaxText) // two bytes each
	got := speech.CleanText(long)
	if len(got) > speech.MaxText || !strings.HasPrefix(long, got) || len(got) < speech.MaxText-1 {
		t.Fatalf("cut to %d bytes", len(got))
	}
}
