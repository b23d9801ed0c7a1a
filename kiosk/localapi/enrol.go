package localapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"

	"github.com/quartierhub/quartierhub/internal/userr"
)

// The first-run endpoint (answered by an agent that implements
// EnrolBackend):
//
//	POST /v1/enrol     EnrolRequest → EnrolResponse once the terminal is
//	                   enrolled and its identity saved. Only while the
//	                   terminal has no identity: 409 already_enrolled
//	                   after. Failures carry a code the window says in
//	                   the person's language (Enrol* codes below).
//
// The body is at most MaxEnrolBody bytes; an agent enrols one request at
// a time (enrol_busy for a second one meanwhile).

// EnrolRequest is one of: URI (the console's QR code text, as a handheld
// scanner types it), Hub and Token typed, or FromMedia: the agent reads
// the enrolment file from a USB stick (it, not the window, reads media).
type EnrolRequest struct {
	URI       string `json:"uri,omitempty"`
	Hub       string `json:"hub,omitempty"`
	Token     string `json:"token,omitempty"`
	FromMedia bool   `json:"from_media,omitempty"`
}

// Bounds of an enrolment request.
const (
	MaxEnrolBody  = 8 << 10
	maxEnrolURI   = 2048
	maxEnrolHub   = 512
	maxEnrolToken = 256
)

// EnrolResponse is the new identity as the window shows it.
type EnrolResponse struct {
	TerminalID string `json:"terminal_id"`
	Name       string `json:"name"`
	Quarter    string `json:"quarter"`
	HubURL     string `json:"hub_url"`
	// Source says where the code came from: typed or media (with the
	// file's path in MediaFile).
	Source    string `json:"source"`
	MediaFile string `json:"media_file,omitempty"`
}

// Codes of a failed enrolment. Each is an EnrolFailure's Reason.
const (
	EnrolInvalid        = "enrol_invalid"          // not an enrolment code, a bad hub address, no token
	EnrolUnreachable    = "enrol_unreachable"      // the hub does not answer
	EnrolTokenUnknown   = "enrol_token_unknown"    // the hub knows no such token
	EnrolTokenUsed      = "enrol_token_used"       // the token enrolled a terminal already
	EnrolTokenExpired   = "enrol_token_expired"    // the token is too old
	EnrolRefused        = "enrol_refused"          // the hub refused for another reason
	EnrolNoMedia        = "enrol_no_media"         // no enrolment file on any mounted medium
	EnrolSeveralOnMedia = "enrol_several_files"    // more than one: which is meant is unclear
	EnrolAlreadyDone    = "enrol_already_enrolled" // the terminal has an identity
	EnrolBusy           = "enrol_busy"             // another enrolment is under way
	EnrolFailed         = "enrol_failed"           // anything else (logged by the agent)
)

var enrolStatus = map[string]int{
	EnrolInvalid: http.StatusBadRequest, EnrolUnreachable: http.StatusGatewayTimeout,
	EnrolTokenUnknown: http.StatusForbidden, EnrolTokenUsed: http.StatusForbidden, EnrolTokenExpired: http.StatusForbidden,
	EnrolRefused: http.StatusForbidden, EnrolNoMedia: http.StatusNotFound, EnrolSeveralOnMedia: http.StatusConflict,
	EnrolAlreadyDone: http.StatusConflict, EnrolBusy: http.StatusTooManyRequests, EnrolFailed: http.StatusInternalServerError,
}

// EnrolReasons lists every failure code, sorted (the window has words
// for each).
func EnrolReasons() []string {
	out := make([]string, 0, len(enrolStatus))
	for r := range enrolStatus {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// EnrolFailure is why an enrolment failed. The agent returns it inside a
// *userr.Error whose message (English, for logs and the CLI) says more;
// the client gives it back the same way.
type EnrolFailure struct{ Reason string }

func (e *EnrolFailure) Error() string { return "enrolment failed: " + e.Reason }

// EnrolReason is the Reason of the EnrolFailure in err's chain, or
// EnrolFailed when there is none.
func EnrolReason(err error) string {
	var ef *EnrolFailure
	if errors.As(err, &ef) {
		return ef.Reason
	}
	return EnrolFailed
}

// EnrolBackend is what the first-run endpoint needs of the agent.
type EnrolBackend interface {
	Enrol(ctx context.Context, req EnrolRequest) (EnrolResponse, error)
}

// DecodeEnrolRequest reads and bounds a request body.
func DecodeEnrolRequest(body []byte) (EnrolRequest, error) {
	var req EnrolRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return EnrolRequest{}, fmt.Errorf("the request is not valid JSON: %w", err)
	}
	if dec.More() {
		return EnrolRequest{}, errors.New("the request holds more than one JSON object")
	}
	if len(req.URI) > maxEnrolURI || len(req.Hub) > maxEnrolHub || len(req.Token) > maxEnrolToken {
		return EnrolRequest{}, fmt.Errorf("the request's texts are too long (code %d, hub %d, token %d bytes at most)", maxEnrolURI, maxEnrolHub, maxEnrolToken)
	}
	n := 0
	for _, given := range []bool{req.URI != "", req.Hub != "" || req.Token != "", req.FromMedia} {
		if given {
			n++
		}
	}
	if n != 1 {
		return EnrolRequest{}, errors.New("the request needs exactly one of uri, hub with token, or from_media")
	}
	return req, nil
}

func (s *Server) enrolRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/enrol", func(w http.ResponseWriter, r *http.Request) {
		b, ok := s.backend.(EnrolBackend)
		if !ok {
			s.fail(w, userr.New("this agent does not enrol", ErrUnavailable))
			return
		}
		body, err := readBounded(w, r, MaxEnrolBody)
		if err != nil {
			s.enrolFail(w, userr.New("the request is larger than "+fmt.Sprint(MaxEnrolBody)+" bytes", &EnrolFailure{EnrolInvalid}))
			return
		}
		req, err := DecodeEnrolRequest(body)
		if err != nil {
			s.enrolFail(w, userr.New(err.Error(), &EnrolFailure{EnrolInvalid}))
			return
		}
		resp, err := b.Enrol(r.Context(), req)
		if err != nil {
			s.enrolFail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, resp)
	})
}

func readBounded(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
}

// enrolFail answers a failed enrolment with its reason as the code.
func (s *Server) enrolFail(w http.ResponseWriter, err error) {
	reason := EnrolReason(err)
	status, ok := enrolStatus[reason]
	if !ok {
		reason, status = EnrolFailed, http.StatusInternalServerError
	}
	if status == http.StatusInternalServerError {
		s.log.Error("local api: enrol", "err", err)
	}
	writeJSON(w, status, Error{Error: userr.Message(err, "the terminal could not be enrolled: internal error"), Code: reason})
}

// Enrol enrols the terminal through the agent. A failure is a
// *userr.Error wrapping an *EnrolFailure (EnrolReason tells which).
func (c *Client) Enrol(ctx context.Context, req EnrolRequest) (EnrolResponse, error) {
	var resp EnrolResponse
	err := c.do(ctx, http.MethodPost, "/v1/enrol", req, &resp)
	var ue *userr.Error
	if errors.As(err, &ue) && ue.Err != nil {
		// The client's reader keeps a code it does not know as the
		// cause's text.
		if code := ue.Err.Error(); enrolStatus[code] != 0 {
			return resp, userr.New(ue.Msg, &EnrolFailure{Reason: code})
		}
	}
	return resp, err
}
