package api

import (
	"errors"
	"net/url"
)

// EnrolmentScheme is the URI scheme of the enrolment QR code the hub's
// console shows next to a new token:
//
//	quartierhub-enrol:?hub=HUB_URL&token=TOKEN
//
// A terminal's first-boot enrolment (or a technician's phone) can read
// it instead of typing the token; it holds exactly what
// `kiosk enroll --hub HUB_URL --token TOKEN` needs.
const EnrolmentScheme = "quartierhub-enrol"

// EnrolmentURI returns the enrolment QR code's text.
func EnrolmentURI(hubURL, token string) string {
	return EnrolmentScheme + ":?" + url.Values{"hub": {hubURL}, "token": {token}}.Encode()
}

// ParseEnrolmentURI reads what EnrolmentURI wrote.
func ParseEnrolmentURI(s string) (hubURL, token string, err error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != EnrolmentScheme {
		return "", "", errors.New("api: not a " + EnrolmentScheme + " URI")
	}
	q := u.Query()
	if q.Get("hub") == "" || q.Get("token") == "" {
		return "", "", errors.New("api: enrolment URI lacks hub or token")
	}
	return q.Get("hub"), q.Get("token"), nil
}
