package terminalapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// commandList answers the terminal's open commands. Listing does not
// deliver: a terminal acknowledges each command it took.
func (h *Handler) commandList(w http.ResponseWriter, r *http.Request) {
	t, _ := TerminalFrom(r.Context())
	cmds, err := h.st.OpenCommands(r.Context(), t.ID, h.o.Now())
	if err != nil {
		h.internal(w, "commands", err)
		return
	}
	writeJSON(w, http.StatusOK, api.CommandList{Commands: wireCommands(cmds)})
}

func (h *Handler) commandAck(w http.ResponseWriter, r *http.Request) {
	t, _ := TerminalFrom(r.Context())
	c, err := h.st.AckCommand(r.Context(), t.ID, r.PathValue("id"), h.o.Now())
	h.commandAnswer(w, r, t.ID, c, err)
}

func (h *Handler) commandResult(w http.ResponseWriter, r *http.Request) {
	t, _ := TerminalFrom(r.Context())
	var res api.CommandResult
	if err := decodeJSON(bodyFrom(r.Context()), &res); err != nil {
		h.refuse(w, r, jsonErrorStatus(err), jsonErrorCode(err), "malformed command result: "+err.Error(), t.ID)
		return
	}
	// The detail is kept with the command and shown to IT staff.
	if len(res.Detail) > api.MaxCommandDetail || len(res.DiagnosticsID) > 64 || len(res.ScreenshotID) > 64 || len(res.Reason) > 64 {
		h.refuse(w, r, http.StatusBadRequest, api.CodeBadRequest, fmt.Sprintf("detail longer than %d bytes, or diagnostics_id, screenshot_id or reason longer than 64", api.MaxCommandDetail), t.ID)
		return
	}
	detail := res.Detail
	if text := api.ReasonText(res.Reason); text != "" && !res.OK {
		// The reason's own text, which the console translates.
		detail = text
	}
	if res.DiagnosticsID != "" {
		detail += " (diagnostics " + res.DiagnosticsID + ")"
	}
	if res.ScreenshotID != "" {
		detail += " (screenshot " + res.ScreenshotID + ")"
	}
	c, err := h.st.FinishCommand(r.Context(), t.ID, r.PathValue("id"), res.OK, detail, h.o.Now())
	h.commandAnswer(w, r, t.ID, c, err)
}

func (h *Handler) commandAnswer(w http.ResponseWriter, r *http.Request, terminal string, c store.Command, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Another terminal's command is "not found" too: no probing.
		h.refuse(w, r, http.StatusNotFound, api.CodeNotFound, "no such command for this terminal", terminal)
	case errors.Is(err, store.ErrCommandClosed):
		h.refuse(w, r, http.StatusConflict, api.CodeCommandClosed, "command expired or already finished", terminal)
	case err != nil:
		h.internal(w, "command", err)
	default:
		writeJSON(w, http.StatusOK, api.CommandAck{ID: c.ID, State: c.State})
	}
}
