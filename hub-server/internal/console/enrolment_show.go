package console

import (
	"net/http"
	"time"
)

type enrolData struct {
	Quarters            []string
	Name, Quarter       string
	Error               *Message
	Token, Command, URI string
	QR                  any
	Expires             time.Time
	Rotation            bool
	Hub                 string
}

func (c *Console) enrolmentShow(w http.ResponseWriter, r *http.Request) {
	ts, err := c.st.Terminals(r.Context())
	if err != nil {
		c.serverError(w, r, "enrol", err)
		return
	}
	qs, _ := quartersAndTags(ts)
	c.render(w, r, http.StatusOK, "enrol", msg("enrol.title"), "enrol", enrolData{Quarters: qs, Hub: c.hubURL(r)})
}

// hubURL is the hub's address as terminals reach it.
func (c *Console) hubURL(r *http.Request) string {
	if c.o.PublicURL != "" {
		return c.o.PublicURL
	}
	scheme := "http"
	if c.secure(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
