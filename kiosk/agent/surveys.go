package agent

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/quartierhub/quartierhub/internal/atomicfile"
	"github.com/quartierhub/quartierhub/internal/userr"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

// surveyOnce keeps the surveys' once-rule: one response per survey and
// respondent (a keyed hash, kiosk/session.Respondent), remembered across
// restarts in DATA/survey-respondents, one "survey<TAB>respondent" a line.
type surveyOnce struct {
	dir string
	log *slog.Logger

	mu       sync.Mutex // held from the check to the remembering
	answered map[string]bool
}

// loadSurveyOnce reads the respondents who have answered.
func loadSurveyOnce(dir string, log *slog.Logger) (*surveyOnce, error) {
	o := &surveyOnce{dir: dir, log: log, answered: map[string]bool{}}
	f, err := os.Open(filepath.Join(dir, RespondentFile))
	if errors.Is(err, os.ErrNotExist) {
		return o, nil
	}
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			o.answered[line] = true
		}
	}
	return o, sc.Err()
}

// answer runs store, which stores the response, unless respondent has
// answered survey before (localapi.ErrAlreadyAnswered); once store
// succeeds the respondent is remembered. A respondent that cannot be
// written to the file is logged, not returned: the response is stored,
// only the rule may not hold after a restart.
func (o *surveyOnce) answer(survey, respondent string, store func() error) error {
	if survey == "" || len(respondent) != 64 || strings.ContainsAny(survey, "\t\n") {
		return userr.New("a response needs a survey and a respondent hash", localapi.ErrInvalid)
	}
	key := survey + "\t" + respondent
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.answered[key] {
		return userr.New("this survey has already been answered", localapi.ErrAlreadyAnswered)
	}
	if err := store(); err != nil {
		return err
	}
	if err := o.remember(key); err != nil {
		o.log.Error("survey respondent not remembered", "survey", survey, "err", err)
	}
	o.answered[key] = true
	return nil
}

// remember appends key to the file, synced (and the directory, if the
// file is new).
func (o *surveyOnce) remember(key string) error {
	path := filepath.Join(o.dir, RespondentFile)
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err == nil {
		_, err = f.WriteString(key + "\n")
		if err == nil {
			err = f.Sync()
		}
		f.Close()
	}
	if err == nil && errors.Is(statErr, os.ErrNotExist) {
		err = atomicfile.SyncDir(o.dir) // the file is new: its entry too
	}
	return err
}
