package workshop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser is the moderator's Chromium: the run page, where the phase
// buttons are, and the projector in a second tab. Both pages keep their
// live sockets open, so what they show arrives without a reload.
type browser struct {
	t              *testing.T
	base, workshop string
	run, projector context.Context
}

// chromium finds the browser; without one the test runs the console's
// steps as forms instead (CI=true: a missing browser fails).
func chromium(t *testing.T) string {
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("the workshop end-to-end test needs Chromium: apt-get install -y chromium (make deps-test installs it)")
	}
	t.Log("no Chromium on PATH: the moderator's steps go through the console's forms only")
	return ""
}

// newBrowser logs name in and opens workshop's run page and projector;
// nil without Chromium.
func newBrowser(t *testing.T, base, workshop, name, password string) *browser {
	path := chromium(t)
	if path == "" {
		return nil
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	b := &browser{t: t, base: base, workshop: workshop, run: ctx}
	b.do(ctx, "log in", chromedp.Navigate(base+"/console/login"), chromedp.WaitVisible(chromedp.ID("#name")),
		chromedp.SendKeys(chromedp.ID("#name"), name), chromedp.SendKeys(chromedp.ID("#password"), password),
		chromedp.Submit(chromedp.ID("#password")), chromedp.WaitVisible(chromedp.CSS(`ul.counts`)))
	// A second tab of the running browser (its context exists only now).
	pctx, cancelP := chromedp.NewContext(ctx)
	t.Cleanup(cancelP)
	b.projector = pctx
	b.do(ctx, "the run page", chromedp.Navigate(base+"/console/workshops/"+workshop), chromedp.WaitVisible(chromedp.ID("#ws-status")),
		waitJS("the run page's socket", `document.querySelector(".ws-live").dataset.connected === "true"`))
	b.do(pctx, "the projector", chromedp.Navigate(base+"/console/workshops/"+workshop+"/projector"),
		chromedp.WaitVisible(chromedp.CSS(".pj-question")),
		waitJS("the projector's socket", `document.querySelector(".ws-live").dataset.connected === "true"`))
	return b
}

func (b *browser) do(ctx context.Context, what string, acts ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(ctx, acts...); err != nil {
		b.t.Fatalf("console in Chromium, %s: %v", what, err)
	}
}

// projectorShows waits until the projector's counts read voters and
// ideas, unreloaded.
func (b *browser) projectorShows(voters, ideas int) {
	b.t.Helper()
	b.do(b.projector, "projector counts", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`),
		waitJS(fmt.Sprintf("%d voters and %d ideas on the projector", voters, ideas),
			fmt.Sprintf(`document.getElementById("pj-voters")?.textContent.trim() === "%d" && document.getElementById("pj-ideas")?.textContent.trim() === "%d"`, voters, ideas)),
		waitJS("no reload", `window.notReloaded === true`))
}

// click presses a button of the run page (the socket may re-render it
// meanwhile: then again, as a person would).
func (b *browser) click(id string) {
	b.t.Helper()
	b.do(b.run, "press "+id, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var err error
		for range 3 {
			if _, err = chromedp.Click(chromedp.ID(id))(ctx, t); err == nil || !strings.Contains(err.Error(), "Could not find node") {
				return err
			}
		}
		return err
	}))
}

func waitJS(what, expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second))(ctx, t); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		return nil
	})
}
