package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/kiosk/ui"
)

// mute is an agent that does not answer until answering is set.
type mute struct {
	*fake
	answering atomic.Bool
}

func (m *mute) Content(ctx context.Context) (api.Content, error) {
	if !m.answering.Load() {
		return api.Content{}, errors.New("no agent yet")
	}
	return m.fake.Content(ctx)
}

// screenLog collects the screens the window logs (it logs every change).
type screenLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *screenLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *screenLog) screens() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range bytes.Split(l.buf.Bytes(), []byte("\n")) {
		var e struct{ Msg, Screen string }
		if json.Unmarshal(line, &e) == nil && e.Msg == "screen" {
			out = append(out, e.Screen)
		}
	}
	return out
}

func (l *screenLog) waitFor(t *testing.T, screens ...string) {
	t.Helper()
	testutil.EventuallyOK(t, fmt.Sprint("the screens ", screens), func() error {
		got := l.screens()
		if len(got) < len(screens) {
			return fmt.Errorf("screens so far %v", got)
		}
		for i := range screens {
			if got[i] != screens[i] {
				t.Fatalf("screens %v, want %v", got, screens)
			}
		}
		return nil
	})
}

// The window is up before the agent: a calm starting screen in every
// language, the out-of-order screen if the agent does not answer in time,
// and the attract screen as soon as it does.
func TestStartWaitsCalmlyForTheAgent(t *testing.T) {
	be := &mute{fake: newFake(t)}
	app := test.NewTempApp(t)
	w := app.NewWindow("")
	w.Resize(fullHD)
	cat := catalog(t)
	var log screenLog
	u := ui.New(app, w, be, ui.Opts{Catalog: cat, StartTimeout: 300 * time.Millisecond, StartRetry: 10 * time.Millisecond,
		Logger: slog.New(slog.NewJSONHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	h := &harness{t: t, u: u, w: w, be: be.fake, cat: cat}
	u.ShowStarting()
	for _, l := range []string{"de", "en"} {
		if !h.has(cat.T(l, "start.title")) || !h.has(cat.T(l, "start.text")) {
			t.Fatalf("the starting screen does not say so in %s", l)
		}
	}
	if *screenshots != "" {
		writePNG(t, *screenshots+"/starting.png", w)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { u.Start(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	log.waitFor(t, ui.ScreenStarting, ui.ScreenOutOfOrder)
	be.answering.Store(true)
	log.waitFor(t, ui.ScreenStarting, ui.ScreenOutOfOrder, ui.ScreenAttract)
}

// With HideCursor, no point of any screen (the timeout warning too) gives
// the pointer a shape: Fyne takes it from the last Cursorable object under
// the pointer in tree order (the top overlay instead of the content when
// there is one), and buttons have the arrow as theirs.
func TestPointerHiddenEverywhere(t *testing.T) {
	hide := func(o *ui.Opts) { o.HideCursor = true }
	for _, mode := range []string{"normal", "contrast"} {
		visit(t, "de", mode, fullHD, hide, func(h *harness, name string) {
			c := h.w.Canvas()
			root := c.Content()
			if ov := c.Overlays().Top(); ov != nil {
				root = ov
			}
			// The real window is unpadded; the test window's content
			// starts a little in: sample all of the content.
			shown, at, size := 0, root.Position(), root.Size()
			for y := at.Y + 1; y < at.Y+size.Height; y += 23 {
				for x := at.X + 1; x < at.X+size.Width; x += 23 {
					if cur := cursorAt(root, fyne.NewPos(x, y)); cur != desktop.HiddenCursor {
						shown++
					}
				}
			}
			if shown > 0 {
				t.Errorf("%s (%s): the pointer shows at %d sample points", name, mode, shown)
			}
		})
	}
}

// cursorAt is the pointer's shape over p as Fyne's GLFW driver picks it
// (window.processMouseMoved): the last Cursorable in a walk of the tree.
func cursorAt(root fyne.CanvasObject, p fyne.Position) desktop.Cursor {
	cur := desktop.Cursor(desktop.DefaultCursor)
	var visit func(o fyne.CanvasObject, parent fyne.Position)
	visit = func(o fyne.CanvasObject, parent fyne.Position) {
		if o == nil || !o.Visible() {
			return
		}
		pos := parent.Add(o.Position())
		if p.X >= pos.X && p.Y >= pos.Y && p.X < pos.X+o.Size().Width && p.Y < pos.Y+o.Size().Height {
			if cc, ok := o.(desktop.Cursorable); ok {
				cur = cc.Cursor()
			}
		}
		switch x := o.(type) {
		case *fyne.Container:
			for _, c := range x.Objects {
				visit(c, pos)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(x).Objects() {
				visit(c, pos)
			}
		}
	}
	visit(root, fyne.Position{})
	return cur
}
