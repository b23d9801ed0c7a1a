package console

import "net/http"

type accountData struct {
	Error *Message
	Lang  string // the user's chosen language, "" = as the browser asks
}

func (c *Console) accountShow(w http.ResponseWriter, r *http.Request) {
	c.showAccount(w, r, http.StatusOK, nil)
}

func (c *Console) showAccount(w http.ResponseWriter, r *http.Request, status int, problem *Message) {
	p := principalFrom(r.Context())
	l, err := c.st.UserLang(r.Context(), p.user.ID)
	if err != nil {
		c.serverError(w, r, "account", err)
		return
	}
	c.render(w, r, status, "account", msg("account.title"), "account", accountData{Error: problem, Lang: l})
}
