package console

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// userUpdate changes a user's role, disables or enables them, or sets a
// new password. An admin cannot demote or disable themselves, so a hub
// always keeps the admin who is logged in. The form carries the user's
// version it was loaded with: a form older than another admin's change
// (or the user's own password change) saves nothing, so it cannot, say,
// enable again a user who was just disabled.
func (c *Console) userUpdate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := principalFrom(ctx)
	u, err := c.st.UserByName(ctx, r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, http.StatusNotFound, msg("users.error.not_found"))
		return
	} else if err != nil {
		c.serverError(w, r, "user", err)
		return
	}
	bad := func(problem *Message) { c.showUsers(w, r, http.StatusBadRequest, userListData{Error: problem}) }
	conflict := func() {
		c.o.Logger.Info("console: user edit conflict", "user", u.Name)
		c.showUsers(w, r, http.StatusConflict, userListData{Error: msg("users.error.conflict")})
	}
	if formVersion(r) != u.Version {
		conflict()
		return
	}
	role, disabled, pw := r.PostFormValue("role"), r.PostFormValue("disabled") == "yes", r.PostFormValue("password")
	var changes []string
	if role != "" && role != u.Role {
		if !ValidRole(role) {
			bad(msg("users.error.choose_role"))
			return
		}
		changes = append(changes, "role "+u.Role+" → "+role)
		u.Role = role
	}
	if disabled != u.Disabled() {
		if disabled {
			u.DisabledAt = c.o.Now()
			changes = append(changes, "disabled")
		} else {
			u.DisabledAt = time.Time{}
			changes = append(changes, "enabled")
		}
	}
	if pw != "" {
		if err := CheckPasswordRules(pw); err != nil {
			bad(userInputMessage(err))
			return
		}
		if u.PasswordHash, err = HashPassword(pw, c.o.Params); err != nil {
			c.serverError(w, r, "user password", err)
			return
		}
		changes = append(changes, "password reset")
	}
	if u.ID == p.user.ID && (u.Role != store.RoleAdmin || u.Disabled()) {
		bad(msg("users.error.self_demotion"))
		return
	}
	// The language is kept apart from the user record (store.UserLangs);
	// a form without the field leaves it as it is.
	lang, setLang := r.PostForm["lang"]
	if setLang && (len(lang) != 1 || (lang[0] != "" && !knownLang(lang[0]))) {
		bad(msg("common.choose_language"))
		return
	}
	if len(changes) > 0 {
		err := c.st.UpdateUser(ctx, u, c.auditEntry(ctx, "user.update", "user:"+u.Name, strings.Join(changes, ", ")))
		if errors.Is(err, store.ErrVersionConflict) {
			conflict()
			return
		} else if err != nil {
			c.serverError(w, r, "user update", err)
			return
		}
		c.o.Logger.Info("console: user updated", "user", u.Name, "changes", fmt.Sprint(len(changes)))
	}
	langChanged := false
	if setLang {
		cur, err := c.st.UserLang(ctx, u.ID)
		if err != nil {
			c.serverError(w, r, "user language", err)
			return
		}
		if langChanged = cur != lang[0]; langChanged {
			detail := lang[0]
			if detail == "" {
				detail = "as the browser asks"
			}
			if err := c.st.SetUserLang(ctx, u.ID, lang[0], c.auditEntry(ctx, "user.lang", "user:"+u.Name, detail)); err != nil {
				c.serverError(w, r, "user language", err)
				return
			}
		}
	}
	done := ""
	if len(changes) > 0 || langChanged {
		done = "user"
	}
	c.redirect(w, r, "/console/users", done)
}
