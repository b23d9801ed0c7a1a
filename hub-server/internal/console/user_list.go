package console

import (
	"net/http"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

type userListData struct {
	Users []store.User
	Roles []string
	Error *Message
	Name  string
	Role  string
	// UserLangs is each user's chosen console language by user ID.
	UserLangs map[string]string
}

func (c *Console) userList(w http.ResponseWriter, r *http.Request) {
	c.showUsers(w, r, http.StatusOK, userListData{})
}

func (c *Console) showUsers(w http.ResponseWriter, r *http.Request, status int, d userListData) {
	var err error
	if d.Users, err = c.st.Users(r.Context()); err != nil {
		c.serverError(w, r, "users", err)
		return
	}
	if d.UserLangs, err = c.st.UserLangsByID(r.Context()); err != nil {
		c.serverError(w, r, "users", err)
		return
	}
	d.Roles = Roles
	c.render(w, r, status, "users", msg("common.users"), "users", d)
}
