package console

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/netlimit"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// The participants' phone page (/w/CODE) faces the internet: anyone who
// knows or guesses a join code can open it. What keeps it honest:
//
//   - One guest per browser, bound to a signed cookie (phone_guest.go);
//     the workshop service gives one voter per guest key, and the fold
//     counts dots per voter, so a reload, a second tab or a script with
//     the same cookie is the same voter. A script that drops the cookie
//     must take a new number, and joins are limited per client network.
//   - Every form is a POST with a CSRF token tied to the guest cookie,
//     refused when the browser says it came from another site, with a
//     body of at most maxPhoneForm bytes.
//   - Rate limits per guest (actions, ideas) and per client network
//     (actions, joins, lookups of unknown codes, live sockets), all in
//     bounded tables (netlimit).
//   - Every refusal says why in the participant's language
//     (phoneReasons), and nothing personal is shown: voters are labels
//     like "Gast 17".

// PhoneService is what the phone pages need of the hub's workshop
// service (workshops.Service has it all).
type PhoneService interface {
	// GetByCode is the workshop with a join code as a person typed it
	// (store.ErrNotFound).
	GetByCode(ctx context.Context, code string) (workshops.View, error)
	// Get is the workshop with that ID as it stands.
	Get(ctx context.Context, id string) (workshops.View, error)
	// JoinPhone checks the guest with guestKey in as a voter of the
	// workshop with join code code: the same key always gets the same
	// voter (workshops.PhoneVoter). A refusal is a *workshops.Refused.
	JoinPhone(ctx context.Context, code, guestKey string) (voter, label string, err error)
	// Act appends a participant's event for voter actor; a refusal is a
	// *workshops.Refused with the fold's reason.
	Act(ctx context.Context, id, actor string, t workshop.Type, data any) (workshop.Event, error)
	// Subscribe notifies of the workshop's new cursor; it never blocks
	// the publisher. cancel ends it.
	Subscribe(id string) (ch <-chan uint64, cancel func())
}

// PhoneOpts configure the phone pages. Zero values are the defaults.
type PhoneOpts struct {
	// Workshops is the workshop service; nil: the phone pages say there
	// is no such workshop.
	Workshops PhoneService
	// GuestSecret signs guest cookies and derives their CSRF tokens.
	// Hub processes sharing a database must share it, or a guest moving
	// between them loses their number. Default: 32 random bytes per
	// process.
	GuestSecret []byte
	// JoinEvery and JoinBurst limit joins per client network: a room of
	// participants behind one router joins at once (default burst 60),
	// then one more every JoinEvery (default 5s).
	JoinEvery time.Duration
	JoinBurst int
	// ActEvery and ActBurst limit a guest's actions (ideas, dots, done):
	// default a burst of 30, then one a second.
	ActEvery time.Duration
	ActBurst int
	// IdeaEvery and IdeaBurst limit a guest's ideas: default 10, then one
	// every 15s.
	IdeaEvery time.Duration
	IdeaBurst int
	// NetActEvery and NetActBurst limit the actions of one client
	// network, all its guests together: default 600, then 20 a second.
	NetActEvery time.Duration
	NetActBurst int
	// LookupEvery and LookupBurst limit lookups of join codes that do not
	// exist, per client network (guessing codes): default 20, then one
	// every 3s.
	LookupEvery time.Duration
	LookupBurst int
	// SocketsPerGuest, SocketsPerNet and Sockets cap live sockets:
	// default 4 per guest, 200 per client network, 5000 in all.
	SocketsPerGuest, SocketsPerNet, Sockets int
}

// phones is the phone pages' state: limits and live socket counts.
type phones struct {
	o                            PhoneOpts
	joins, acts, ideas, netActs  *netlimit.Limiter
	lookups                      *netlimit.Limiter
	mu                           sync.Mutex
	sockets                      int
	socketsByGuest, socketsByNet map[string]int
}

func newPhones(o PhoneOpts, rnd io.Reader) (*phones, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	if len(o.GuestSecret) == 0 {
		o.GuestSecret = make([]byte, 32)
		if _, err := io.ReadFull(rnd, o.GuestSecret); err != nil {
			return nil, fmt.Errorf("console: guest secret: %w", err)
		}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defN := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&o.JoinEvery, 5*time.Second)
	defN(&o.JoinBurst, 60)
	def(&o.ActEvery, time.Second)
	defN(&o.ActBurst, 30)
	def(&o.IdeaEvery, 15*time.Second)
	defN(&o.IdeaBurst, 10)
	def(&o.NetActEvery, 50*time.Millisecond)
	defN(&o.NetActBurst, 600)
	def(&o.LookupEvery, 3*time.Second)
	defN(&o.LookupBurst, 20)
	defN(&o.SocketsPerGuest, 4)
	defN(&o.SocketsPerNet, 200)
	defN(&o.Sockets, 5000)
	return &phones{o: o,
		joins:          netlimit.New(netlimit.Limits{Every: o.JoinEvery, Burst: o.JoinBurst}),
		acts:           netlimit.New(netlimit.Limits{Every: o.ActEvery, Burst: o.ActBurst, Clients: 20000}),
		ideas:          netlimit.New(netlimit.Limits{Every: o.IdeaEvery, Burst: o.IdeaBurst, Clients: 20000}),
		netActs:        netlimit.New(netlimit.Limits{Every: o.NetActEvery, Burst: o.NetActBurst}),
		lookups:        netlimit.New(netlimit.Limits{Every: o.LookupEvery, Burst: o.LookupBurst}),
		socketsByGuest: map[string]int{}, socketsByNet: map[string]int{}}, nil
}

// openSocket counts a live socket of guest from network; false when a
// cap is reached. closeSocket undoes it.
func (p *phones) openSocket(guestKey, network string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sockets >= p.o.Sockets || p.socketsByGuest[guestKey] >= p.o.SocketsPerGuest || p.socketsByNet[network] >= p.o.SocketsPerNet {
		return false
	}
	p.sockets++
	p.socketsByGuest[guestKey]++
	p.socketsByNet[network]++
	return true
}

func (p *phones) closeSocket(guestKey, network string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sockets--
	if p.socketsByGuest[guestKey]--; p.socketsByGuest[guestKey] <= 0 {
		delete(p.socketsByGuest, guestKey)
	}
	if p.socketsByNet[network]--; p.socketsByNet[network] <= 0 {
		delete(p.socketsByNet, network)
	}
}

// phoneReasons says why the workshop refused, for every refusal code
// the fold and the service give, in words a participant understands.
var phoneReasons = map[workshop.Reason]*Message{
	workshop.ReasonNotOpen:      msg("phone.reason.not_open"),
	workshop.ReasonWrongPhase:   msg("phone.reason.wrong_phase"),
	workshop.ReasonNotCheckedIn: msg("phone.reason.not_checked_in"),
	workshop.ReasonJoinClosed:   msg("phone.reason.join_closed"),
	workshop.ReasonRemoved:      msg("phone.reason.removed"),
	workshop.ReasonTooMany:      msg("phone.reason.too_many"),
	workshop.ReasonUnknownItem:  msg("phone.reason.unknown_item"),
	workshop.ReasonNotAllowed:   msg("phone.reason.not_allowed"),
	workshop.ReasonInvalid:      msg("phone.reason.invalid"),
	workshop.ReasonDuplicate:    msg("phone.reason.duplicate"),
	workshop.ReasonNoPhones:     msg("phone.reason.no_phones"),
	// The phone page's own refusals, before the service is asked.
	phoneEmpty:   msg("phone.reason.empty"),
	phoneTooLong: msg("phone.reason.too_long"),
	phoneStale:   msg("phone.reason.stale"),
	phoneLimited: msg("phone.reason.limited"),
}

// The phone page's own refusal codes (beside workshop.Reason's).
const (
	phoneEmpty   workshop.Reason = "empty"    // an empty idea
	phoneTooLong workshop.Reason = "too_long" // an idea longer than the workshop allows
	phoneStale   workshop.Reason = "stale"    // no guest cookie or a wrong CSRF token
	phoneLimited workshop.Reason = "limited"  // too many actions in a short time
)

// phoneReason is the message for code; an unknown code (a newer fold's)
// still gets a sentence.
func phoneReason(code workshop.Reason) *Message {
	if m, ok := phoneReasons[code]; ok {
		return m
	}
	return msg("phone.reason.other")
}
