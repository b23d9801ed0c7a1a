package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// commandSend queues a command for one terminal, a quarter or a tag
// (form fields scope = terminal|quarter|tag and target), one row per
// active terminal.
func (c *Console) commandSend(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	scope, target := r.PostFormValue("scope"), strings.TrimSpace(r.PostFormValue("target"))
	kind, message := r.PostFormValue("kind"), strings.TrimSpace(r.PostFormValue("message"))
	if !api.ValidCommandKind(kind) {
		c.fail(w, r, http.StatusBadRequest, msg("command.error.choose_kind"))
		return
	}
	if kind == api.CommandScreenshot && scope != "terminal" {
		// One picture at a time, looked at on the terminal's page.
		c.fail(w, r, http.StatusBadRequest, msg("command.error.screenshot_one_terminal"))
		return
	}
	if len(message) > 500 {
		c.fail(w, r, http.StatusBadRequest, msg("command.error.message_too_long"))
		return
	}
	ts, err := c.st.Terminals(ctx)
	if err != nil {
		c.serverError(w, r, "command", err)
		return
	}
	var aim []store.Terminal
	for _, t := range ts {
		if t.Revoked() {
			continue
		}
		if scope == "terminal" && t.Name == target || scope == "quarter" && t.Quarter == target || scope == "tag" && slices.Contains(t.Tags, strings.ToLower(target)) {
			aim = append(aim, t)
		}
	}
	if len(aim) == 0 {
		c.fail(w, r, http.StatusBadRequest, msg("command.error.no_target"))
		return
	}
	now := c.o.Now()
	group, err := ulid.New(ulid.Timestamp(now), c.o.Rand)
	if err != nil {
		c.serverError(w, r, "command", err)
		return
	}
	aimed := scope + ":" + target
	cmds := make([]store.Command, len(aim))
	for i, t := range aim {
		id, err := ulid.New(ulid.Timestamp(now), c.o.Rand)
		if err != nil {
			c.serverError(w, r, "command", err)
			return
		}
		cmds[i] = store.Command{ID: id.String(), GroupID: group.String(), TerminalID: t.ID, Kind: kind, Message: message, Target: aimed,
			CreatedAt: now, CreatedBy: actor(ctx), ExpiresAt: now.Add(c.o.CommandTTL)}
	}
	if err := c.st.CreateCommands(ctx, cmds, c.auditEntry(ctx, "command.send", aimed, fmt.Sprintf("%s to %d terminal(s), group %s", kind, len(cmds), group))); err != nil {
		c.serverError(w, r, "command", err)
		return
	}
	back := "/console/?done=command"
	if scope == "terminal" {
		back = "/console/terminals/" + url.PathEscape(target) + "?done=command#commands"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
