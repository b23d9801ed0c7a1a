package hubsync

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/userr"
	"github.com/quartierhub/quartierhub/kiosk/identity"
)

// EnrollOpts configures Enroll.
type EnrollOpts struct {
	SoftwareVersion string
	// Rand is the key generator's randomness; nil means crypto/rand.
	Rand io.Reader
	// HTTPClient defaults to a pooled client with a 30s timeout.
	HTTPClient *http.Client
}

// Errors of an enrolment that the callers tell apart (the first-run
// screen says each in the person's language).
var (
	// ErrAlreadyEnrolled: the data directory holds a valid identity.
	ErrAlreadyEnrolled = errors.New("hubsync: terminal is already enrolled")
	// ErrHubUnreachable: no answer from the hub at the given address.
	ErrHubUnreachable = errors.New("hubsync: hub unreachable")
	// ErrNotEnrolmentCode: the text is not the console's enrolment QR code.
	ErrNotEnrolmentCode = errors.New("hubsync: not an enrolment code")
)

// ParseEnrolmentText reads the console's enrolment QR code text
// (api.EnrolmentURI) as a handheld scanner types it or a file holds it:
// surrounding white space (the scanner's Enter, a file's newline) is
// ignored.
func ParseEnrolmentText(s string) (hubURL, token string, err error) {
	hubURL, token, err = api.ParseEnrolmentURI(strings.TrimSpace(s))
	if err != nil {
		return "", "", userr.New("this is not an enrolment QR code from the hub console", fmt.Errorf("%w: %w", ErrNotEnrolmentCode, err))
	}
	return hubURL, token, nil
}

// EnrollInto enrols with the hub and saves the new identity in dir (the
// agent's data directory). It refuses with ErrAlreadyEnrolled when dir
// holds a valid identity, unless replace; a damaged identity file is
// replaced, as it could not sync anyway.
func EnrollInto(ctx context.Context, dir, hubURL, token string, replace bool, opts EnrollOpts) (identity.Identity, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return identity.Identity{}, fmt.Errorf("hubsync: enroll: %w", err)
	}
	if old, err := identity.Load(dir); err == nil && !replace {
		return identity.Identity{}, userr.New(fmt.Sprintf("this terminal is already enrolled as %s (%s)", old.Name, old.TerminalID), ErrAlreadyEnrolled)
	}
	id, err := Enroll(ctx, hubURL, token, opts)
	if err != nil {
		return identity.Identity{}, err
	}
	if err := identity.Save(dir, id); err != nil {
		return identity.Identity{}, err
	}
	return id, nil
}

// RefusalCode is the hub's error code (api.CodeTokenUsed…) when err is
// the hub refusing an enrolment, else "".
func RefusalCode(err error) string {
	var he *hubError
	if errors.As(err, &he) {
		return he.code
	}
	return ""
}

// Enroll generates a key pair, presents the token and the public key to the
// hub and returns the new identity (the caller saves it). Refusals by the
// hub are *userr.Error with the hub's reason.
func Enroll(ctx context.Context, hubURL, token string, opts EnrollOpts) (identity.Identity, error) {
	u, err := url.Parse(hubURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return identity.Identity{}, userr.New(fmt.Sprintf("hub URL %q must look like https://hub.example.org", hubURL), err)
	}
	if strings.TrimSpace(token) == "" {
		return identity.Identity{}, userr.New("an enrolment token is required", nil)
	}
	key, err := identity.NewKey(opts.Rand)
	if err != nil {
		return identity.Identity{}, err
	}
	body, err := json.Marshal(api.EnrollRequest{
		Token:           strings.TrimSpace(token),
		PublicKey:       api.EncodePublicKey(key.Public().(ed25519.PublicKey)),
		SoftwareVersion: opts.SoftwareVersion,
	})
	if err != nil {
		return identity.Identity{}, fmt.Errorf("hubsync: enroll: %w", err)
	}
	hc := retryablehttp.NewClient()
	hc.Logger = nil
	hc.RetryMax = 2
	hc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	if opts.HTTPClient != nil {
		hc.HTTPClient = opts.HTTPClient
	} else {
		hc.HTTPClient.Timeout = 30 * time.Second
	}
	target := strings.TrimRight(hubURL, "/") + api.PathEnroll
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return identity.Identity{}, fmt.Errorf("hubsync: enroll: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return identity.Identity{}, userr.New("cannot reach the hub at "+hubURL, fmt.Errorf("%w: %w", ErrHubUnreachable, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		he := readHubError(resp, time.Now()).(*hubError)
		return identity.Identity{}, userr.New("the hub refused the enrolment: "+he.msg, he)
	}
	var er api.EnrollResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&er); err != nil {
		return identity.Identity{}, fmt.Errorf("hubsync: enroll: read answer: %w", err)
	}
	if er.TerminalID == "" {
		return identity.Identity{}, fmt.Errorf("hubsync: enroll: hub sent no terminal id")
	}
	return identity.Identity{
		TerminalID: er.TerminalID, Name: er.Name, Quarter: er.Quarter,
		HubURL: strings.TrimRight(hubURL, "/"), EnrolledAt: time.Now().UTC(), Key: key,
	}, nil
}
