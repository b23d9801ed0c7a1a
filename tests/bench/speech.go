package main

// The speech group: how soon the terminal speaks after a key press.
//
//	speech  speech_latency_p50_ms, speech_latency_p95_ms: from a key press
//	        (a11y.Reader.Key("Down"), as the window's key sink calls it) to
//	        the first audio sample espeak-ng writes on its stdout (past the
//	        WAV header), through kiosk/speech's real espeak-ng speaker; the
//	        focus moves over a screen of eight items, the language going
//	        round de, en, uk, ru, tr, vi, ar, each press interrupting the
//	        last utterance as a quick keypad user does. BENCH_SPEECH_KEYS
//	        presses (default 210).
//	        speech_stop_p95_ms: from Stop during a long utterance to both
//	        processes killed and reaped (30 runs; the player takes no
//	        audio, as a sound card would not take a minute's at once).
//
// The player is aplay on ALSA's null device: the figure ends where
// espeak-ng hands its first sample on, which no sound card changes.

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/kiosk/a11y"
	"github.com/quartierhub/quartierhub/kiosk/speech"
)

func init() {
	groups["speech"] = []string{"speech_latency_p50_ms", "speech_latency_p95_ms", "speech_stop_p95_ms"}
}

// Labels of a home screen's items in each voice's language.
var speechLabels = map[string][]string{
	"de": {"Startseite", "Problem melden", "Luft im Quartier", "Umfrage", "Wartenummer ziehen", "Informationen", "Hilfe", "Sprache wählen"},
	"en": {"Home", "Report a problem", "Air in the quarter", "Survey", "Take a number", "Information", "Help", "Choose a language"},
	"uk": {"Головна", "Повідомити про проблему", "Повітря в кварталі", "Опитування", "Взяти номер", "Інформація", "Допомога", "Вибрати мову"},
	"ru": {"Главная", "Сообщить о проблеме", "Воздух в квартале", "Опрос", "Взять номер", "Информация", "Помощь", "Выбрать язык"},
	"tr": {"Ana sayfa", "Sorun bildir", "Mahalledeki hava", "Anket", "Numara al", "Bilgi", "Yardım", "Dil seç"},
	"vi": {"Trang chủ", "Báo cáo sự cố", "Không khí trong khu phố", "Khảo sát", "Lấy số", "Thông tin", "Trợ giúp", "Chọn ngôn ngữ"},
	"ar": {"الصفحة الرئيسية", "الإبلاغ عن مشكلة", "الهواء في الحي", "استطلاع", "خذ رقمًا", "معلومات", "مساعدة", "اختر اللغة"},
}

func speechBench(ctx context.Context) error {
	keys := 210
	if v := os.Getenv("BENCH_SPEECH_KEYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("BENCH_SPEECH_KEYS=%q: want a positive integer", v)
		}
		keys = n
	}
	cat, err := assets.Catalog()
	if err != nil {
		return err
	}
	events := make(chan speech.Event, 64)
	spk, err := speech.New(speech.Options{Player: []string{"aplay", "-q", "-D", "null"},
		Observe: func(e speech.Event) { events <- e }})
	if err != nil {
		return fmt.Errorf("speech bench: %w (provisioning/dev/deps.sh test installs espeak-ng and alsa-utils)", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- spk.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// firstAudio waits for the next utterance to start and returns when
	// its first sample came.
	firstAudio := func() (time.Time, error) {
		pgid := 0
		timeout := time.After(10 * time.Second)
		for {
			select {
			case e := <-events:
				switch {
				case e.Kind == speech.Started && pgid == 0:
					pgid = e.Pgid
				case e.Kind == speech.FirstAudio && e.Pgid == pgid:
					return e.At, nil
				case e.Kind == speech.Ended && e.Pgid == pgid && e.Err != nil:
					return time.Time{}, fmt.Errorf("speech bench: %w", e.Err)
				}
			case <-timeout:
				return time.Time{}, fmt.Errorf("speech bench: no audio within 10 s")
			case <-ctx.Done():
				return time.Time{}, ctx.Err()
			}
		}
	}

	r := a11y.NewReader(a11y.Opts{Speaker: spk, Catalog: cat})
	var nodes []a11y.Node
	for i := range 8 {
		nodes = append(nodes, a11y.Node{Role: a11y.RoleButton, Action: func() {},
			Label: func(lang string) string { return speechLabels[lang][i] }})
	}
	nodes[0].Role, nodes[0].Action = a11y.RoleHeading, nil
	r.SetLanguage("de")
	r.SetTree(a11y.Tree{Screen: "home", Nodes: nodes})
	r.Key("Down") // the first key turns speech mode on: the welcome
	if _, err := firstAudio(); err != nil {
		return err
	}
	langs := speech.Languages()
	var latencies []float64
	for i := range keys {
		r.SetLanguage(langs[i%len(langs)])
		pressed := time.Now()
		r.Key("Down")
		at, err := firstAudio()
		if err != nil {
			return err
		}
		latencies = append(latencies, float64(at.Sub(pressed).Microseconds())/1000)
	}
	figure("speech_latency_p50_ms", percentile(latencies, 50), "ms")
	figure("speech_latency_p95_ms", percentile(latencies, 95), "ms")

	// Stop: a long utterance is cut off while espeak-ng still speaks. A
	// sound card takes the audio in real time, aplay's null device at
	// once (espeak-ng makes a minute of speech in tens of milliseconds):
	// here a player that takes none, so espeak-ng is still at work.
	slow, err := speech.New(speech.Options{Player: []string{"sleep", "600"},
		Observe: func(e speech.Event) { events <- e }})
	if err != nil {
		return err
	}
	slowDone := make(chan error, 1)
	go func() { slowDone <- slow.Run(ctx) }()
	defer func() { cancel(); <-slowDone }()
	long := strings.Repeat("Dies ist ein langer Satz, der lange dauert. ", 40)
	var stops []float64
	for range 30 {
		slow.Say(a11y.Utterance{Text: long, Lang: "de"})
		if _, err := firstAudio(); err != nil {
			return err
		}
		stopped := time.Now()
		slow.Stop()
		for e := range events {
			if e.Kind == speech.Ended {
				if !e.Interrupted {
					return fmt.Errorf("speech bench: the long utterance ended before Stop")
				}
				stops = append(stops, float64(e.At.Sub(stopped).Microseconds())/1000)
				break
			}
		}
	}
	figure("speech_stop_p95_ms", percentile(stops, 95), "ms")
	return nil
}
