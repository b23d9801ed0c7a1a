package hubsync

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
		return identity.Identity{}, userr.New("cannot reach the hub at "+hubURL, err)
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
