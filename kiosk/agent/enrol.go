package agent

// First-boot enrolment through the local API (POST /v1/enrol): the
// window's first-run screen sends the console's QR code text as a
// handheld scanner typed it, a typed hub address and token, or asks the
// agent to read the enrolment file from a USB stick. The enrolment itself
// is hubsync.EnrollInto, as `kiosk enroll` does it. It is refused once
// the terminal has an identity: re-enrolling is `kiosk enroll --force` by
// someone with a shell on the terminal, never the window's business.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/userr"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

// EnrolFile is the enrolment file on a USB stick: the console's
// enrolment QR code text (quartierhub-enrol:?hub=…&token=…) on its first
// line, at most MaxEnrolFile bytes. It is looked for at the top of each
// file system mounted one or two levels below a media directory
// (/media/LABEL, /media/USER/LABEL, /run/media/USER/LABEL).
const EnrolFile = "quartierhub-enrol.txt"

// MaxEnrolFile bounds the enrolment file.
const MaxEnrolFile = 4 << 10

// DefaultEnrolMedia are where Debian mounts removable media.
var DefaultEnrolMedia = []string{"/media", "/run/media"}

// maxMediaEntries bounds the directories looked at below one media
// directory level.
const maxMediaEntries = 64

var _ localapi.EnrolBackend = (*Agent)(nil)

// Enrol implements localapi.EnrolBackend.
func (a *Agent) Enrol(ctx context.Context, req localapi.EnrolRequest) (localapi.EnrolResponse, error) {
	if !a.enrolling.TryLock() {
		return localapi.EnrolResponse{}, userr.New("another enrolment is under way", &localapi.EnrolFailure{Reason: localapi.EnrolBusy})
	}
	defer a.enrolling.Unlock()
	if id, err := a.ids.Get(); err == nil {
		return localapi.EnrolResponse{}, userr.New(fmt.Sprintf("this terminal is already enrolled as %s", id.Name), &localapi.EnrolFailure{Reason: localapi.EnrolAlreadyDone})
	}
	resp := localapi.EnrolResponse{Source: "typed"}
	hub, token := req.Hub, req.Token
	var err error
	switch {
	case req.URI != "":
		hub, token, err = hubsync.ParseEnrolmentText(req.URI)
	case req.FromMedia:
		resp.Source = "media"
		var text []byte
		resp.MediaFile, text, err = findEnrolmentFile(a.mediaRoots())
		if err == nil {
			hub, token, err = parseEnrolmentFile(text)
		}
	}
	if err == nil && (hub == "" || token == "") {
		err = userr.New("both the hub address and the token are needed", nil)
	}
	if err != nil {
		return localapi.EnrolResponse{}, enrolFailure(err)
	}
	id, err := hubsync.EnrollInto(ctx, a.opts.DataDir, hub, token, false, hubsync.EnrollOpts{SoftwareVersion: a.opts.Version})
	if err != nil {
		a.log.Warn("enrolment failed", "source", resp.Source, "err", err)
		return localapi.EnrolResponse{}, enrolFailure(err)
	}
	a.log.Info("enrolled", "terminal_id", id.TerminalID, "name", id.Name, "hub", id.HubURL, "source", resp.Source)
	// A first round now, so the console sees the terminal at once rather
	// than after the idle interval; its outcome is the sync's business.
	if _, s, err := a.parts(); err == nil {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		s.SyncNow(sctx)
		cancel()
	}
	resp.TerminalID, resp.Name, resp.Quarter, resp.HubURL = id.TerminalID, id.Name, id.Quarter, id.HubURL
	return resp, nil
}

// enrolFailure gives err the reason the window says in words.
func enrolFailure(err error) error {
	var ef *localapi.EnrolFailure
	if errors.As(err, &ef) {
		return err
	}
	reason := localapi.EnrolFailed
	switch code := hubsync.RefusalCode(err); {
	case errors.Is(err, hubsync.ErrAlreadyEnrolled):
		reason = localapi.EnrolAlreadyDone
	case errors.Is(err, hubsync.ErrHubUnreachable):
		reason = localapi.EnrolUnreachable
	case code == api.CodeTokenUnknown:
		reason = localapi.EnrolTokenUnknown
	case code == api.CodeTokenUsed:
		reason = localapi.EnrolTokenUsed
	case code == api.CodeTokenExpired:
		reason = localapi.EnrolTokenExpired
	case code != "":
		reason = localapi.EnrolRefused
	case userr.Message(err, "") != "":
		// What hubsync says in words without a hub's answer is about
		// the input: not a QR code, a bad address, no token.
		reason = localapi.EnrolInvalid
	}
	return userr.New(userr.Message(err, "the terminal could not be enrolled"), errors.Join(&localapi.EnrolFailure{Reason: reason}, err))
}

func (a *Agent) mediaRoots() []string {
	if a.opts.EnrolMedia != nil {
		return a.opts.EnrolMedia
	}
	return DefaultEnrolMedia
}

// findEnrolmentFile looks for EnrolFile at the top of each directory one
// or two levels below the roots. Exactly one must exist: with two sticks
// (or two files) it is unclear which is meant. Symbolic links are not
// followed, neither to directories nor as the file: a stick's content is
// outside input.
func findEnrolmentFile(roots []string) (string, []byte, error) {
	var found []string
	var visit func(dir string, depth int)
	visit = func(dir string, depth int) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		if len(entries) > maxMediaEntries {
			entries = entries[:maxMediaEntries]
		}
		for _, e := range entries {
			if !e.IsDir() { // a DirEntry of a symbolic link is no directory
				continue
			}
			sub := filepath.Join(dir, e.Name())
			if fi, err := os.Lstat(filepath.Join(sub, EnrolFile)); err == nil && fi.Mode().IsRegular() {
				found = append(found, filepath.Join(sub, EnrolFile))
			}
			if depth < 2 {
				visit(sub, depth+1)
			}
		}
	}
	for _, r := range roots {
		visit(r, 1)
	}
	sort.Strings(found)
	switch len(found) {
	case 0:
		return "", nil, userr.New(fmt.Sprintf("no %s on a USB stick", EnrolFile), &localapi.EnrolFailure{Reason: localapi.EnrolNoMedia})
	case 1:
	default:
		return "", nil, userr.New(fmt.Sprintf("%d files %s found (%v): leave one stick with one", len(found), EnrolFile, found), &localapi.EnrolFailure{Reason: localapi.EnrolSeveralOnMedia})
	}
	f, err := os.OpenFile(found[0], os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return found[0], nil, fmt.Errorf("agent: enrolment file: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return found[0], nil, userr.New(found[0]+" is not a plain file", &localapi.EnrolFailure{Reason: localapi.EnrolInvalid})
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxEnrolFile+1))
	if err != nil {
		return found[0], nil, fmt.Errorf("agent: enrolment file: %w", err)
	}
	if len(b) > MaxEnrolFile {
		return found[0], nil, userr.New(fmt.Sprintf("%s is larger than %d bytes", found[0], MaxEnrolFile), &localapi.EnrolFailure{Reason: localapi.EnrolInvalid})
	}
	return found[0], b, nil
}

// parseEnrolmentFile reads the enrolment file's text: the QR code text on
// its first line that is not empty, after a byte order mark an editor may
// have written.
func parseEnrolmentFile(b []byte) (hub, token string, err error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) > 0 {
			return hubsync.ParseEnrolmentText(string(line))
		}
	}
	return "", "", userr.New(EnrolFile+" is empty", nil)
}
