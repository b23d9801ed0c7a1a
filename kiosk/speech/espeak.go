// Package speech is the terminal's voice, without Fyne: Espeak, an
// a11y.Speaker that runs espeak-ng as a process and pipes its audio into a
// player (aplay), and Jack, which watches the headphone jack's switch
// events (Linux evdev) so that plugging in headphones can start speech
// mode and private text is played only into them.
//
// Every utterance is its own pair of processes, espeak-ng and the player,
// in one process group: interrupting is killing that group, which is done
// within milliseconds wherever the two are in their work. One goroutine
// (Espeak.Run) owns the processes; Say and Stop only leave a request for
// it and never wait.
package speech

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/quartierhub/quartierhub/kiosk/a11y"
)

// Defaults of Options.
const (
	DefaultEspeak = "espeak-ng"
	// DefaultRate is espeak-ng's own default speed, in words per minute.
	DefaultRate = 175
	// DefaultVolume is espeak-ng's own amplitude, 100.
	DefaultVolume = 100
)

// DefaultPlayer plays a WAV stream from stdin on ALSA's default device.
var DefaultPlayer = []string{"aplay", "-q", "-D", "default"}

// Bounds: espeak-ng speaks between 80 and 450 words per minute; its
// amplitude goes from 0 to 200 (per cent of the normal 100). Text longer
// than MaxText bytes is cut at a character boundary: nothing on a screen
// is that long, and a runaway string must not keep the speaker busy.
const (
	MinRate   = 80
	MaxRate   = 450
	MaxVolume = 200
	MaxText   = 4000
)

// voices maps a catalog language to its espeak-ng voice.
var voices = map[string]string{
	"de": "de", "en": "en-gb", "uk": "uk", "ru": "ru", "tr": "tr", "vi": "vi", "ar": "ar",
}

// Languages lists the catalog languages with a known espeak-ng voice.
func Languages() []string {
	return []string{"de", "en", "uk", "ru", "tr", "vi", "ar"}
}

var languageTag = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{2,8})?$`)

// Voice returns espeak-ng's voice for a catalog language. A language
// without an entry is passed on as it is when it looks like a language
// tag (espeak-ng knows about a hundred); otherwise the voice is English.
func Voice(lang string) string {
	if v, ok := voices[lang]; ok {
		return v
	}
	if languageTag.MatchString(lang) {
		return lang
	}
	return "en-gb"
}

// Options configure an Espeak.
type Options struct {
	// Espeak is the espeak-ng command; default DefaultEspeak.
	Espeak string
	// Player is the command (argv) that plays a WAV stream from its
	// stdin on the loudspeaker; default DefaultPlayer.
	Player []string
	// HeadphonePlayer plays into the headphones; default Player (the
	// sound card then switches from the loudspeaker to the jack itself).
	HeadphonePlayer []string
	// Rate is the rate (words per minute) of utterances without one;
	// default DefaultRate.
	Rate int
	// Volume is the terminal's normal loudness: espeak-ng's amplitude
	// for an utterance at 100 per cent (a loud street: 150); an
	// utterance's Volume is a per cent of it. Default DefaultVolume.
	Volume int
	// Transcript, if set, gets one line per utterance spoken (language,
	// a tab, the text): what residents hear, for developing without a
	// sound card. Private utterances are never written.
	Transcript io.Writer
	Logger     *slog.Logger
	// Now defaults to time.Now (Event.At).
	Now func() time.Time
	// Observe, if set, is called from Run's goroutines with what happens
	// to each utterance (tests, the latency bench). It must not block.
	Observe func(Event)
}

// EventKind says what happened to an utterance.
type EventKind int

const (
	// Started: espeak-ng and the player run (Event.Pgid is their group).
	Started EventKind = iota
	// FirstAudio: espeak-ng wrote its first audio sample (past the WAV
	// header) to its stdout.
	FirstAudio
	// Ended: both processes have exited and been reaped, after
	// finishing, failing (Event.Err) or being interrupted.
	Ended
	// Dropped: a private utterance without headphones, not spoken.
	Dropped
)

// Event is one step of an utterance, for Options.Observe.
type Event struct {
	Kind EventKind
	At   time.Time
	Pgid int
	Text string
	// Interrupted (Ended): killed by Say, Stop, unplugged headphones or
	// the end of Run; Err is then nil.
	Interrupted bool
	Err         error
}

// Espeak is an a11y.Speaker running espeak-ng. Make it with New, run it
// with Run; Say and Stop may be called from any goroutine, before Run too.
type Espeak struct {
	opts       Options
	log        *slog.Logger
	headphones atomic.Bool

	mu        sync.Mutex
	next      *request // the latest Say or Stop not yet acted on
	jackMoved bool     // the headphones' state changed since the loop looked
	wake      chan struct{}

	lastErr string // the loop's: the last failure logged, to log each kind once
}

type request struct {
	stop bool
	u    a11y.Utterance
}

var _ a11y.Speaker = (*Espeak)(nil)

// New checks that espeak-ng and the players exist and returns a speaker.
// An error means the terminal has no voice; the window then runs silent.
func New(opts Options) (*Espeak, error) {
	if opts.Espeak == "" {
		opts.Espeak = DefaultEspeak
	}
	if len(opts.Player) == 0 {
		opts.Player = DefaultPlayer
	}
	if len(opts.HeadphonePlayer) == 0 {
		opts.HeadphonePlayer = opts.Player
	}
	if opts.Rate == 0 {
		opts.Rate = DefaultRate
	}
	if opts.Volume == 0 {
		opts.Volume = DefaultVolume
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	for _, argv := range [][]string{{opts.Espeak}, opts.Player, opts.HeadphonePlayer} {
		if argv[0] == "" {
			return nil, errors.New("speech: an empty command")
		}
		if _, err := exec.LookPath(argv[0]); err != nil {
			return nil, fmt.Errorf("speech: %w", err)
		}
	}
	return &Espeak{opts: opts, log: opts.Logger, wake: make(chan struct{}, 1)}, nil
}

// Say interrupts what is being said and says u. It returns at once.
func (s *Espeak) Say(u a11y.Utterance) { s.request(&request{u: u}) }

// Stop silences the speaker. It returns at once; the processes are gone
// within milliseconds (Run kills their group).
func (s *Espeak) Stop() { s.request(&request{stop: true}) }

// SetHeadphones tells the speaker whether headphones are plugged in
// (from a Jack). Unplugging interrupts a private utterance at once.
func (s *Espeak) SetHeadphones(plugged bool) {
	if s.headphones.Swap(plugged) == plugged {
		return
	}
	s.mu.Lock()
	s.jackMoved = true
	s.mu.Unlock()
	s.poke()
}

// Headphones reports whether headphones are plugged in, as last set.
func (s *Espeak) Headphones() bool { return s.headphones.Load() }

func (s *Espeak) request(r *request) {
	s.mu.Lock()
	s.next = r
	s.mu.Unlock()
	s.poke()
}

func (s *Espeak) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// utterance is one running pair of processes.
type utterance struct {
	pgid    int
	private bool
	text    string
	killed  bool
	done    chan error // the pair's outcome once both are reaped
}

// Run speaks until ctx ends, then silences the speaker. It is the one
// goroutine that starts and kills the processes.
func (s *Espeak) Run(ctx context.Context) error {
	var cur *utterance
	for {
		var done chan error
		if cur != nil {
			done = cur.done
		}
		select {
		case <-ctx.Done():
			s.interrupt(cur)
			return nil
		case err := <-done:
			s.ended(cur, err)
			cur = nil
		case <-s.wake:
			s.mu.Lock()
			next, jackMoved := s.next, s.jackMoved
			s.next, s.jackMoved = nil, false
			s.mu.Unlock()
			if cur != nil && (next != nil || jackMoved && cur.private && !s.headphones.Load()) {
				s.interrupt(cur)
				cur = nil
			}
			if next != nil && !next.stop {
				cur = s.start(next.u)
			}
		}
	}
}

// interrupt kills u's process group and waits until both are reaped.
func (s *Espeak) interrupt(u *utterance) {
	if u == nil {
		return
	}
	select {
	case err := <-u.done: // it ended by itself meanwhile
		s.ended(u, err)
		return
	default:
	}
	u.killed = true
	// The group, not the two pids: a player that forked leaves nothing.
	if err := syscall.Kill(-u.pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		s.log.Warn("speech: stopping", "err", err)
	}
	select {
	case err := <-u.done:
		s.ended(u, err)
	case <-time.After(reapLimit):
		// A process stuck in the kernel (a sound driver) dies only when
		// it leaves it; the speaker goes on without waiting for it.
		s.log.Warn("speech: an utterance's processes outlived SIGKILL", "pgid", u.pgid)
	}
}

// reapLimit is how long interrupt waits for killed processes to be reaped.
const reapLimit = time.Second

func (s *Espeak) ended(u *utterance, err error) {
	if u.killed {
		err = nil
	}
	if err != nil {
		// Each kind of failure once: a broken voice would otherwise log
		// at every key press.
		if msg := err.Error(); msg != s.lastErr {
			s.lastErr = msg
			s.log.Warn("speech: utterance failed", "err", err)
		}
	}
	s.observe(Event{Kind: Ended, Pgid: u.pgid, Text: u.text, Interrupted: u.killed, Err: err})
}

func (s *Espeak) observe(e Event) {
	if s.opts.Observe != nil {
		e.At = s.opts.Now()
		s.opts.Observe(e)
	}
}

// start runs espeak-ng and the player for u; nil if there is nothing to
// say or it could not start (logged).
func (s *Espeak) start(u a11y.Utterance) *utterance {
	text := CleanText(u.Text)
	if text == "" {
		return nil
	}
	plugged := s.headphones.Load()
	if u.Private && !plugged {
		s.observe(Event{Kind: Dropped, Text: text})
		return nil
	}
	player := s.opts.Player
	if plugged {
		player = s.opts.HeadphonePlayer
	}
	if s.opts.Transcript != nil && !u.Private {
		if _, err := fmt.Fprintf(s.opts.Transcript, "%s\t%s\n", u.Lang, text); err != nil {
			s.log.Warn("speech: transcript", "err", err)
		}
	}
	ut, err := s.spawn(u, text, player)
	if err != nil {
		if msg := err.Error(); msg != s.lastErr {
			s.lastErr = msg
			s.log.Warn("speech: cannot speak", "err", err)
		}
		return nil
	}
	s.observe(Event{Kind: Started, Pgid: ut.pgid, Text: text})
	return ut
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// espeakArgs are espeak-ng's arguments for u: WAV on stdout, UTF-8 text
// on stdin (-b 1), the language's voice, rate and amplitude.
func (s *Espeak) espeakArgs(u a11y.Utterance) []string {
	rate, volume := u.Rate, u.Volume
	if rate <= 0 {
		rate = s.opts.Rate
	}
	if volume <= 0 {
		volume = 100
	}
	return []string{"--stdout", "-b", "1", "-v", Voice(u.Lang),
		"-s", strconv.Itoa(clamp(rate, MinRate, MaxRate)),
		"-a", strconv.Itoa(clamp(volume*s.opts.Volume/100, 0, MaxVolume))}
}

// wavHeader is the size of the RIFF header espeak-ng writes first.
const wavHeader = 44

func (s *Espeak) spawn(u a11y.Utterance, text string, player []string) (*utterance, error) {
	audioR, audioW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("speech: %w", err)
	}
	playR, playW, err := os.Pipe()
	if err != nil {
		audioR.Close()
		audioW.Close()
		return nil, fmt.Errorf("speech: %w", err)
	}
	var espeakErr, playerErr tailBuffer
	espeak := exec.Command(s.opts.Espeak, s.espeakArgs(u)...)
	espeak.Stdin = strings.NewReader(text)
	espeak.Stdout = audioW
	espeak.Stderr = &espeakErr
	espeak.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := espeak.Start(); err != nil {
		audioR.Close()
		audioW.Close()
		playR.Close()
		playW.Close()
		return nil, fmt.Errorf("speech: %w", err)
	}
	audioW.Close()
	pgid := espeak.Process.Pid
	play := exec.Command(player[0], player[1:]...)
	play.Stdin = playR
	play.Stderr = &playerErr
	play.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: pgid}
	if err := play.Start(); err != nil {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		audioR.Close()
		playR.Close()
		playW.Close()
		_ = espeak.Wait()
		return nil, fmt.Errorf("speech: %w", err)
	}
	playR.Close()
	ut := &utterance{pgid: pgid, private: u.Private, text: text, done: make(chan error, 1)}
	go func() {
		// Copied here rather than piped straight through, to see the
		// first sample arrive (FirstAudio). A killed player makes the
		// copy fail (EPIPE), a killed espeak-ng ends it (EOF).
		copyErr := s.pump(playW, audioR, ut)
		audioR.Close()
		playW.Close()
		eerr, perr := espeak.Wait(), play.Wait()
		switch {
		case eerr != nil:
			ut.done <- fmt.Errorf("speech: espeak-ng: %w: %s", eerr, espeakErr.String())
		case perr != nil:
			ut.done <- fmt.Errorf("speech: player %s: %w: %s", player[0], perr, playerErr.String())
		case copyErr != nil:
			ut.done <- fmt.Errorf("speech: %w", copyErr)
		default:
			ut.done <- nil
		}
	}()
	return ut, nil
}

func (s *Espeak) pump(dst io.Writer, src io.Reader, ut *utterance) error {
	buf := make([]byte, 16<<10)
	var n int64
	for {
		k, err := src.Read(buf)
		if k > 0 {
			if n <= wavHeader && n+int64(k) > wavHeader {
				s.observe(Event{Kind: FirstAudio, Pgid: ut.pgid, Text: ut.text})
			}
			n += int64(k)
			if _, werr := dst.Write(buf[:k]); werr != nil {
				// The player is gone; its exit status says why.
				_, _ = io.Copy(io.Discard, src)
				return nil
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// CleanText is the text as espeak-ng gets it: valid UTF-8, control
// characters as spaces, trimmed, at most MaxText bytes.
func CleanText(s string) string {
	s = strings.ToValidUTF8(s, " ")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > MaxText {
		cut := MaxText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// tailBuffer keeps the last bytes written to it (a process's stderr, for
// the error message).
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

const tailMax = 512

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > tailMax {
		t.b = t.b[len(t.b)-tailMax:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}
