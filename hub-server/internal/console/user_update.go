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
// always keeps the admin who is logged in.
func (c *Console) userUpdate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := principalFrom(ctx)
	u, err := c.st.UserByName(ctx, r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, http.StatusNotFound, "There is no such user.")
		return
	} else if err != nil {
		c.serverError(w, r, "user", err)
		return
	}
	bad := func(msg string) { c.showUsers(w, r, http.StatusBadRequest, userListData{Error: msg}) }
	role, disabled, pw := r.PostFormValue("role"), r.PostFormValue("disabled") == "yes", r.PostFormValue("password")
	var changes []string
	if role != "" && role != u.Role {
		if !ValidRole(role) {
			bad(T("Choose one of the roles."))
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
			bad(err.Error())
			return
		}
		if u.PasswordHash, err = HashPassword(pw, c.o.Params); err != nil {
			c.serverError(w, r, "user password", err)
			return
		}
		changes = append(changes, "password reset")
	}
	if u.ID == p.user.ID && (u.Role != store.RoleAdmin || u.Disabled()) {
		bad(T("You cannot take away your own admin role or disable yourself; ask another admin."))
		return
	}
	// The language is kept apart from the user record (store.UserLangs);
	// a form without the field leaves it as it is.
	langChanged := false
	if l, ok := r.PostForm["lang"]; ok {
		if len(l) != 1 || (l[0] != "" && !knownLang(l[0])) {
			bad(T("Choose one of the languages."))
			return
		}
		cur, err := c.st.UserLang(ctx, u.ID)
		if err != nil {
			c.serverError(w, r, "user language", err)
			return
		}
		if langChanged = cur != l[0]; langChanged {
			detail := l[0]
			if detail == "" {
				detail = "as the browser asks"
			}
			if err := c.st.SetUserLang(ctx, u.ID, l[0], c.auditEntry(ctx, "user.lang", "user:"+u.Name, detail)); err != nil {
				c.serverError(w, r, "user language", err)
				return
			}
		}
	}
	if len(changes) == 0 {
		done := ""
		if langChanged {
			done = "user"
		}
		c.redirect(w, r, "/console/users", done)
		return
	}
	if err := c.st.UpdateUser(ctx, u, c.auditEntry(ctx, "user.update", "user:"+u.Name, strings.Join(changes, ", "))); err != nil {
		c.serverError(w, r, "user update", err)
		return
	}
	c.o.Logger.Info("console: user updated", "user", u.Name, "changes", fmt.Sprint(len(changes)))
	c.redirect(w, r, "/console/users", "user")
}
