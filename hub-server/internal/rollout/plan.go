package rollout

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/userr"
)

// Plan is what staff choose when they start a rollout.
type Plan struct {
	Version string
	// Stages in order; empty: DefaultStages. A stage of Percent 0 may
	// only come first: the canary stage, whose members are Canary. The
	// others take cumulative shares of the remaining terminals (5, 25,
	// 100); the last must be 100.
	Stages []store.Stage
	// SuccessPercent of a stage's members must be done before, after its
	// soak time, the next stage opens. 0: DefaultSuccessPercent.
	SuccessPercent int
	// The rollout halts when FailCount terminals (0: no such limit), or
	// FailPercent of the terminals of the opened stages (0:
	// DefaultFailPercent), are failing: rolled back, failed or silent.
	FailCount   int
	FailPercent int
	// Canary are the terminal IDs of the canary stage.
	Canary []string
}

// Defaults of a Plan.
const (
	DefaultSuccessPercent = 95
	DefaultFailPercent    = 10
)

// Bounds of a Plan.
const (
	MaxStages      = 10
	MaxCanary      = 1000
	MaxStageName   = 64
	MaxSoak        = 30 * 24 * time.Hour
	MaxReasonBytes = 500
)

// DefaultStages are canary → 5 % → 25 % → 100 %, each soaking soak.
func DefaultStages(soak time.Duration) []store.Stage {
	s := int64(soak / time.Second)
	return []store.Stage{{Name: "canary", Percent: 0, SoakSeconds: s}, {Name: "5%", Percent: 5, SoakSeconds: s},
		{Name: "25%", Percent: 25, SoakSeconds: s}, {Name: "100%", Percent: 100, SoakSeconds: s}}
}

// withDefaults returns p with its zero fields set and checks it.
func (p Plan) withDefaults(soak time.Duration) (Plan, error) {
	if len(p.Stages) == 0 {
		p.Stages = DefaultStages(soak)
	} else {
		p.Stages = slices.Clone(p.Stages)
	}
	if p.SuccessPercent == 0 {
		p.SuccessPercent = DefaultSuccessPercent
	}
	if p.FailPercent == 0 {
		p.FailPercent = DefaultFailPercent
	}
	p.Canary = slices.Clone(p.Canary)
	slices.Sort(p.Canary)
	p.Canary = slices.Compact(p.Canary)
	return p, p.check()
}

func invalid(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return userr.New(msg, errors.New("rollout: plan: "+msg))
}

func (p *Plan) check() error {
	if p.Version == "" || len(p.Version) > 64 {
		return invalid("choose a release version")
	}
	if len(p.Stages) > MaxStages {
		return invalid("a rollout has at most %d stages", MaxStages)
	}
	prev := -1
	for i, s := range p.Stages {
		if s.Name = strings.TrimSpace(s.Name); s.Name == "" || len(s.Name) > MaxStageName || !utf8.ValidString(s.Name) {
			return invalid("stage %d needs a name of at most %d characters", i+1, MaxStageName)
		}
		p.Stages[i].Name = s.Name
		switch {
		case s.Percent == 0 && i > 0:
			return invalid("only the first stage may be the canary stage (0 %%)")
		case s.Percent < 0 || s.Percent > 100 || s.Percent <= prev:
			return invalid("stage shares must grow from stage to stage, between 1 and 100 %%")
		case s.SoakSeconds < 0 || s.Soak() > MaxSoak:
			return invalid("a stage soaks for at most %d days", MaxSoak/(24*time.Hour))
		}
		prev = s.Percent
	}
	if prev != 100 {
		return invalid("the last stage must reach 100 %% of the terminals")
	}
	if p.SuccessPercent < 1 || p.SuccessPercent > 100 || p.FailPercent < 1 || p.FailPercent > 100 || p.FailCount < 0 {
		return invalid("success and failure shares must be between 1 and 100 %%, the failure count at least 0")
	}
	canaryStage := p.Stages[0].Percent == 0
	switch {
	case canaryStage && len(p.Canary) == 0:
		return invalid("choose the canary terminals")
	case !canaryStage && len(p.Canary) > 0:
		return invalid("canary terminals need a first stage of 0 %%")
	case len(p.Canary) > MaxCanary:
		return invalid("at most %d canary terminals", MaxCanary)
	}
	return nil
}

// assign places the terminals in stages: the canary terminals in stage 0
// (when it is the canary stage), the others in a fixed order of
// SHA-256(rollout ID, terminal ID), cut at each stage's cumulative share
// (rounded up, so a small fleet still gets a terminal in its 5 % stage).
func assign(rolloutID string, stages []store.Stage, canary, terminals []string) map[string]int {
	out := make(map[string]int, len(terminals))
	first := 0
	if stages[0].Percent == 0 {
		for _, id := range canary {
			out[id] = 0
		}
		first = 1
	}
	type ranked struct {
		id   string
		hash [32]byte
	}
	var rest []ranked
	for _, id := range terminals {
		if _, ok := out[id]; !ok {
			rest = append(rest, ranked{id, sha256.Sum256([]byte(rolloutID + "\x00" + id))})
		}
	}
	slices.SortFunc(rest, func(a, b ranked) int {
		if c := bytes.Compare(a.hash[:], b.hash[:]); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	n, stage := len(rest), first
	for i, t := range rest {
		for stage < len(stages)-1 && i >= (stages[stage].Percent*n+99)/100 {
			stage++
		}
		out[t.id] = stage
	}
	return out
}

// describe is a plan's audit detail.
func describe(p Plan, members int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version %s, %d terminals, stages", p.Version, members)
	for _, s := range p.Stages {
		fmt.Fprintf(&b, " %s (%d%%, soak %s)", s.Name, s.Percent, s.Soak())
	}
	fmt.Fprintf(&b, ", success %d%%, halt at %d%% failing", p.SuccessPercent, p.FailPercent)
	if p.FailCount > 0 {
		fmt.Fprintf(&b, " or %d failing", p.FailCount)
	}
	return b.String()
}
