package console

import (
	"io/fs"
	"net/http"
	"strings"
)

// route is one console page or form target and the action it needs.
type route struct {
	pattern string
	action  Action
	handler func(*Console, http.ResponseWriter, *http.Request)
}

// guarded lists every route that needs a login, with its action. The
// role tests walk this table.
var guarded = []route{
	{"GET /console/{$}", ViewFleet, (*Console).fleetShow},
	{"GET /console/fleet/trends/{window}/{file}", ViewFleet, (*Console).fleetTrendFile},
	{"GET /console/terminals/{name}", ViewFleet, (*Console).terminalShow},
	{"POST /console/terminals/{name}/revoke", ManageTerms, (*Console).terminalRevoke},
	{"POST /console/terminals/{name}/rotate", ManageTerms, (*Console).terminalRotate},
	{"POST /console/terminals/{name}/tags", ManageTerms, (*Console).terminalTag},
	{"GET /console/terminals/{name}/site", ViewFleet, (*Console).siteShow},
	{"POST /console/terminals/{name}/site", ManageOpenData, (*Console).siteSave},
	{"POST /console/terminals/{name}/site/stop", ManageOpenData, (*Console).siteStop},
	{"POST /console/terminals/{name}/alerts/{alert}/ack", AckAlerts, (*Console).alertAck},
	{"POST /console/terminals/{name}/mutes", MuteAlerts, (*Console).alertMute},
	{"POST /console/terminals/{name}/mutes/{mute}/lift", MuteAlerts, (*Console).alertUnmute},
	{"GET /console/terminals/{name}/diagnostics/{bundle}", ViewDiags, (*Console).diagnosticsShow},
	{"GET /console/terminals/{name}/diagnostics/{bundle}/raw", ViewDiags, (*Console).diagnosticsDownload},
	{"GET /console/terminals/{name}/screenshots/{shot}", ViewScreens, (*Console).screenshotServe},
	{"POST /console/commands", SendCommands, (*Console).commandSend},
	{"GET /console/enrol", ManageTerms, (*Console).enrolmentShow},
	{"POST /console/enrol", ManageTerms, (*Console).enrolmentCreate},
	{"GET /console/config", ViewFleet, (*Console).configList},
	{"GET /console/config/edit", ViewFleet, (*Console).configEdit},
	{"POST /console/config/edit", EditContent, (*Console).configSave},
	{"GET /console/alerts", ViewFleet, (*Console).alertList},
	{"GET /console/reports", ViewReports, (*Console).reportList},
	{"GET /console/reports.csv", ViewReports, (*Console).reportExport},
	{"GET /console/reports/{terminal}/{record}", ViewReports, (*Console).reportShow},
	{"POST /console/reports/{terminal}/{record}", EditReports, (*Console).reportUpdate},
	{"GET /console/surveys", ViewReports, (*Console).surveyList},
	{"GET /console/surveys.csv", ViewReports, (*Console).surveyExport},
	{"GET /console/workshops", RunWorkshops, (*Console).workshopList},
	{"GET /console/workshops/new", RunWorkshops, (*Console).workshopNew},
	{"POST /console/workshops", RunWorkshops, (*Console).workshopSave},
	{"GET /console/workshops/{id}", RunWorkshops, (*Console).workshopRun},
	{"GET /console/workshops/{id}/edit", RunWorkshops, (*Console).workshopEdit},
	{"POST /console/workshops/{id}/edit", RunWorkshops, (*Console).workshopSave},
	{"POST /console/workshops/{id}/act", RunWorkshops, (*Console).workshopAct},
	{"GET /console/workshops/{id}/cluster", RunWorkshops, (*Console).workshopCluster},
	{"GET /console/workshops/{id}/projector", RunWorkshops, (*Console).workshopProjector},
	{"GET /console/workshops/{id}/results", RunWorkshops, (*Console).workshopResults},
	{"GET /console/workshops/{id}/export/{format}", RunWorkshops, (*Console).workshopExport},
	{"GET /console/workshops/{id}/live", RunWorkshops, (*Console).workshopLive},
	{"GET /console/releases", ViewFleet, (*Console).releaseList},
	{"POST /console/releases", ManageUpdates, (*Console).releaseAdd},
	{"GET /console/rollouts", ViewFleet, (*Console).rolloutList},
	{"POST /console/rollouts", ManageUpdates, (*Console).rolloutStart},
	{"GET /console/rollouts/{id}", ViewFleet, (*Console).rolloutShow},
	{"POST /console/rollouts/{id}/pause", ManageUpdates, (*Console).rolloutPause},
	{"POST /console/rollouts/{id}/resume", ManageUpdates, (*Console).rolloutResume},
	{"POST /console/rollouts/{id}/stop", ManageUpdates, (*Console).rolloutStop},
	{"GET /console/windows", ViewFleet, (*Console).windowList},
	{"POST /console/windows", ManageUpdates, (*Console).windowSave},
	{"GET /console/audit", ViewAudit, (*Console).auditList},
	{"GET /console/users", ManageUsers, (*Console).userList},
	{"POST /console/users", ManageUsers, (*Console).userCreate},
	{"POST /console/users/{name}", ManageUsers, (*Console).userUpdate},
	{"GET /console/account", ChangeOwnPass, (*Console).accountShow},
	{"POST /console/account", ChangeOwnPass, (*Console).passwordChange},
	{"POST /console/logout", ChangeOwnPass, (*Console).logoutSubmit},
}

// uploads are the routes whose body is a multipart upload rather than a
// form, with the most bytes it may have (guard, upload.go).
var uploads = map[string]int64{
	"POST /console/releases": maxReleaseUpload,
}

func (c *Console) routes() {
	for _, rt := range guarded {
		h := rt.handler
		c.mux.Handle(rt.pattern, c.guard(rt.action, uploads[rt.pattern], func(w http.ResponseWriter, r *http.Request) { h(c, w, r) }))
	}
	c.mux.HandleFunc("GET /console/login", c.loginShow)
	c.mux.HandleFunc("POST /console/login", c.loginSubmit)
	c.mux.HandleFunc("GET /console/static/", c.staticServe)
	c.mux.HandleFunc("GET /status", c.statusShow)
	c.mux.HandleFunc("GET /status/{ref}", c.statusShow)
	// Participants' phone pages: public, a guest cookie instead of a login (phone*.go).
	c.mux.HandleFunc("GET /w/{code}", c.phoneShow)
	c.mux.HandleFunc("GET /w/{code}/results", c.phoneResultsShow)
	c.mux.HandleFunc("GET /w/{code}/live", c.phoneLive)
	c.mux.HandleFunc("POST /w/{code}/join", c.phoneJoin)
	c.mux.HandleFunc("POST /w/{code}/ideas", c.phoneIdea)
	c.mux.HandleFunc("POST /w/{code}/done", c.phoneDone)
	c.mux.HandleFunc("POST /w/{code}/dots", c.phoneDot)
	c.mux.HandleFunc("POST /w/{code}/dots/take", c.phoneDotTake)
	c.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
	})
	c.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, http.StatusNotFound, msg("error.no_such_page"))
	})
}

// staticServe serves one regular file of static/. A name with "." or
// ".." elements (also percent-encoded: r.URL.Path is decoded) or a
// directory is not found, so nothing outside static/ is reachable and no
// directory is listed.
func (c *Console) staticServe(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/console/static/")
	if !fs.ValidPath(name) || name == "." {
		c.fail(w, r, http.StatusNotFound, msg("error.no_such_page"))
		return
	}
	if fi, err := fs.Stat(c.static, name); err != nil || !fi.Mode().IsRegular() {
		c.fail(w, r, http.StatusNotFound, msg("error.no_such_page"))
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	http.ServeFileFS(w, r, c.static, name)
}
