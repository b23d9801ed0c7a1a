package console

import (
	"errors"
	"net/http"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// passwordChange sets the user's own password. All their sessions end
// (the store deletes them with the change) and this browser gets a new one.
// The Account page's other form, the language (op=lang), posts here too.
func (c *Console) passwordChange(w http.ResponseWriter, r *http.Request) {
	if r.PostFormValue("op") == "lang" {
		c.langChange(w, r)
		return
	}
	ctx := r.Context()
	p := principalFrom(ctx)
	cur, pw, again := r.PostFormValue("current"), r.PostFormValue("password"), r.PostFormValue("again")
	fail := func(problem *Message) { c.showAccount(w, r, http.StatusBadRequest, problem) }
	if !CheckPassword(p.user.PasswordHash, cur) {
		fail(msg("account.error.current_wrong"))
		return
	}
	if pw != again {
		fail(msg("account.error.repetition_differs"))
		return
	}
	if err := CheckPasswordRules(pw); err != nil {
		fail(userInputMessage(err))
		return
	}
	hash, err := HashPassword(pw, c.o.Params)
	if err != nil {
		c.serverError(w, r, "password", err)
		return
	}
	u := p.user
	u.PasswordHash = hash
	err = c.st.UpdateUser(ctx, u, store.Audit{At: c.o.Now(), Actor: u.Name, Action: "user.password", Subject: "user:" + u.Name})
	if errors.Is(err, store.ErrVersionConflict) {
		// An admin changed the account while the password was hashed.
		fail(msg("account.error.changed_meanwhile"))
		return
	} else if err != nil {
		c.serverError(w, r, "password", err)
		return
	}
	// The change is audited already (user.password).
	if err := c.startSession(ctx, w, r, u, nil); err != nil {
		c.serverError(w, r, "password session", err)
		return
	}
	c.redirect(w, r, "/console/account", "password")
}
