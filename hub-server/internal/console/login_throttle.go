package console

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/netlimit"
)

// The login throttle has two limits, both counted in the store so that
// several hub processes enforce them together:
//
//  1. Per client address and user name (auth.go throttleKey): after
//     Opts.FreeAttempts failures within an hour each further attempt must
//     wait 1 s, 2 s, 4 s … up to 15 minutes. This stops one machine.
//
//  2. Per user name alone, from any address (this file): after
//     nameFreeAttempts failures within an hour the name's next attempt
//     must wait 1 s, 2 s, 4 s … up to 15 minutes after its last failure.
//     This slows guessing spread over many addresses (a botnet), which
//     limit 1 alone lets through at FreeAttempts per address.
//
// Limit 2 is a lever for locking the real user out: an attacker who
// fails from some address the moment each wait ends could keep the name
// waiting for ever. So an address that has no failure for the name
// ("clean"; IPv6 counted per /64, which one subscriber usually holds
// whole) gets a pass instead: its first refused attempt records that it
// may try once when the wait it was shown is over (loginPass), whatever
// failures of others came since. The real user, told to wait, waits and
// then gets in with the right password. The attacker gains one guess per
// clean address per wait, not per attempt: a failed guess makes that
// address unclean for an hour, and from then on it waits like everyone
// else (and longer, under limit 1). What remains is the attacker's
// number of networks — argon2id and good passwords have to carry that.
const (
	nameFreeAttempts = 20
	// passValid is how long a pass stays usable after its wait ended.
	passValid = failureWindow
)

// nameKey counts failures of a user name from any address.
func nameKey(name string) string {
	return hashID("login-name\n" + strings.ToLower(strings.TrimSpace(name)))
}

// clientNet is the client's network: the address for IPv4, its /64 for IPv6.
func (c *Console) clientNet(r *http.Request) string {
	return netlimit.ClientNetwork(c.clientAddr(r))
}

// netKey counts failures of a user name from one network.
func (c *Console) netKey(r *http.Request, name string) string {
	return hashID("login-net\n" + c.clientNet(r) + "\n" + strings.ToLower(strings.TrimSpace(name)))
}

// passKey holds a clean network's pass for a user name. Its "last
// failure" time is the moment the pass becomes usable.
func (c *Console) passKey(r *http.Request, name string) string {
	return hashID("login-pass\n" + c.clientNet(r) + "\n" + strings.ToLower(strings.TrimSpace(name)))
}

// nameBackoff is limit 2's wait after the name's last failure.
func nameBackoff(failures int64) time.Duration {
	over := failures - nameFreeAttempts
	if over < 0 {
		return 0
	}
	if over > 10 {
		return maxBackoff
	}
	return min(time.Second<<over, maxBackoff)
}

// nameWait applies limit 2 to a request for name: how long it must
// still wait (0: go ahead), and whether it goes ahead on a pass, which
// the caller spends (usePass) once the password was checked.
func (c *Console) nameWait(ctx context.Context, r *http.Request, name string) (wait time.Duration, onPass bool, err error) {
	now := c.o.Now()
	n, last, err := c.st.LoginFailures(ctx, nameKey(name))
	if err != nil || n < nameFreeAttempts || now.Sub(last) > failureWindow {
		return 0, false, err
	}
	wait = last.Add(nameBackoff(n)).Sub(now)
	if wait <= 0 {
		return 0, false, nil
	}
	// The name must wait. A network that failed for it waits too.
	if fails, _, err := c.st.LoginFailures(ctx, c.netKey(r, name)); err != nil || fails > 0 {
		return wait, false, err
	}
	pk := c.passKey(r, name)
	passes, from, err := c.st.LoginFailures(ctx, pk)
	if err != nil {
		return 0, false, err
	}
	switch {
	case passes > 0 && !now.Before(from) && now.Sub(from) <= passValid:
		return 0, true, nil // its wait is over: one attempt
	case passes > 0 && now.Before(from):
		return from.Sub(now), false, nil // the wait it was shown, not a new one
	}
	// A first (or stale) pass: usable once the current wait is over.
	if err := c.st.ClearLoginFailures(ctx, pk); err != nil {
		return 0, false, err
	}
	if _, err := c.st.AddLoginFailure(ctx, pk, now.Add(wait), failureWindow); err != nil {
		return 0, false, err
	}
	return wait, false, nil
}
