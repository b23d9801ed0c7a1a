package console

import "net/http"

type accountData struct{ Error string }

func (c *Console) accountShow(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "account", "Your account", "account", accountData{})
}
