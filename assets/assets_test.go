package assets_test

import (
	"encoding/hex"

	"reflect"
	"testing"

	"github.com/quartierhub/quartierhub/kiosk/session"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/i18n"
)

func TestTranslationsComplete(t *testing.T) {
	cat, err := assets.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if got := cat.Languages(); !reflect.DeepEqual(got, []string{"ar", "de", "en", "ru", "tr", "uk", "vi"}) {
		t.Fatalf("languages %v, want ar, de, en, ru, tr, uk and vi", got)
	}
	for lang, keys := range cat.Missing() {
		t.Errorf("%s.json lacks %v", lang, keys)
	}
	// Same placeholders in every language, or a value would go missing.
	for _, key := range keysOf(t, cat) {
		want := cat.Placeholders("de", key)
		for _, l := range cat.Languages() {
			if got := cat.Placeholders(l, key); !reflect.DeepEqual(got, want) {
				t.Errorf("%s in %s has placeholders %v, de has %v", key, l, got, want)
			}
			if cat.T(l, key) == "" {
				t.Errorf("%s is empty in %s", key, l)
			}
		}
	}
}

func keysOf(t *testing.T, cat *i18n.Catalog) []string {
	t.Helper()
	b, err := assets.I18n().(interface{ ReadFile(string) ([]byte, error) }).ReadFile("de.json")
	if err != nil {
		t.Fatal(err)
	}
	return jsonKeys(t, b)
}

func TestDemoContent(t *testing.T) {
	c, err := assets.DemoContent()
	if err != nil {
		t.Fatal(err)
	}
	if c.Quarter.In("de", "de") != "Friedrichstadt" {
		t.Fatalf("quarter %v", c.Quarter)
	}
	kinds := map[string]bool{}
	for _, s := range c.Services {
		kinds[s.Kind] = true
	}
	for _, k := range []string{api.ServiceReport, api.ServiceAir, api.ServiceSurvey, api.ServiceTicket, api.ServiceInfo} {
		if !kinds[k] {
			t.Errorf("the demo has no %s service", k)
		}
	}
	// Every text a resident reads or hears exists in every language of
	// the catalog (the speech-only ones are spoken), so a Ukrainian
	// speaker completes the survey in Ukrainian.
	langs := catalog(t).Languages()
	texts := demoTexts(c)
	for _, must := range []string{"quarter", "service survey", "survey friedrichstrasse", "question friedrichstrasse/safety", "question friedrichstrasse/mode option foot", "category litter", "place terminal", "help desk"} {
		if texts[must] == nil {
			t.Errorf("no %s text", must)
		}
	}
	for where, tx := range texts {
		for _, l := range langs {
			if tx[l] == "" {
				t.Errorf("%s: no %s text", where, l)
			}
		}
	}
}

func TestContentValidateRejects(t *testing.T) {
	good, err := assets.DemoContent()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(c *api.Content){
		"tile to a missing page": func(c *api.Content) { c.Services[4].Target = "nowhere" },
		"unknown kind":           func(c *api.Content) { c.Services[0].Kind = "casino" },
		"bad once rule":          func(c *api.Content) { c.Surveys[0].Once = "twice" },
		"duplicate id":           func(c *api.Content) { c.Places = append(c.Places, c.Places[0]) },
		"bad service card":       func(c *api.Content) { c.ServiceCards = []string{"01004CA53B"} },
		"bad pin hash":           func(c *api.Content) { c.ServicePIN = "1234" },
		"one-option question":    func(c *api.Content) { c.Surveys[0].Questions[1].Options = c.Surveys[0].Questions[1].Options[:1] },
	}
	for name, mutate := range cases {
		c, _ := assets.DemoContent()
		mutate(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
}

// The demo's service card (UID 0F00C0FFEE under the demo card key that
// `make run` configures) and PIN 2468 open the service menu.
func TestDemoServiceCard(t *testing.T) {
	c, err := assets.DemoContent()
	if err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(DemoCardKey)
	if !session.IsServiceCard(session.HashCard(key, "0F00C0FFEE"), c.ServiceCards) {
		t.Fatal("the demo service card does not match")
	}
	if !api.CheckPIN(c.ServicePIN, "2468") {
		t.Fatal("the demo PIN does not match")
	}
}

// DemoCardKey is the card_hash_key of the demo configuration (make run).
const DemoCardKey = "51756172746965726875622d64656d6f"
