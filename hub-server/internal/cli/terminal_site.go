package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/air"
)

// terminalSite sets or clears where a terminal stands and what of its
// air is published (the console's site page, for scripts and make run):
//
//	terminal site NAME --lat 51.05 --lon 13.74 --place "…" [--indoor] [--publish co2=off,pm25=hour]
//	terminal site NAME --clear
//
// NAME may also be given as --terminal NAME. Flags not given keep what
// the stored site has; a terminal without a site needs --lat, --lon and
// --place; without any, the site is shown and nothing written. The change is stored on the version read (compare-and-swap)
// and audited as the console's.
func terminalSite(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("terminal site")
	name := fs.String("terminal", "", "terminal name (or the first argument)")
	lat := fs.Float64("lat", 0, "latitude, decimal degrees (WGS 84)")
	lon := fs.Float64("lon", 0, "longitude, decimal degrees (WGS 84)")
	place := fs.String("place", "", "public description of the place, e.g. a square or a stop")
	indoor := fs.Bool("indoor", false, "the terminal stands indoors (CO2 is then published hourly unless --publish says otherwise)")
	publish := fs.String("publish", "", "per quantity (pm25, pm10, co2): minute, hour, off or default, e.g. co2=off,pm25=hour")
	co2Minute := fs.Bool("co2-minute-indoors", false, "confirm publishing an indoor terminal's CO2 per minute (it shows whether people are in the room)")
	clearSite := fs.Bool("clear", false, "stop publishing: remove the site")
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		*name, args = args[0], args[1:]
	}
	if err := parse(fs, args, data); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case *name == "":
		return usageError{"terminal site: give the terminal's NAME"}
	case *clearSite && len(set) > 1+boolInt(set["terminal"])+boolInt(set["data"])+boolInt(set["db"]):
		return usageError{"terminal site: --clear takes no other settings"}
	}
	overrides, err := parsePublish(*publish)
	if err != nil {
		return usageError{"terminal site: " + err.Error()}
	}
	return withTerminal(ctx, data, *name, func(st store.Store, t store.Terminal) error {
		cur, err := st.Site(ctx, t.ID)
		exists := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		audit := store.Audit{At: o.Now(), Actor: o.Actor, Subject: "terminal:" + t.Name}
		if *clearSite {
			if !exists {
				_, err := fmt.Fprintf(o.Stdout, "%s: not published (no site)\n", t.Name)
				return err
			}
			audit.Action, audit.Detail = "site.delete", fmt.Sprintf("version %d", cur.Version)
			if err := st.DeleteSite(ctx, t.ID, cur.Version, audit); err != nil {
				return siteChangeError(t.Name, err)
			}
			_, err := fmt.Fprintf(o.Stdout, "%s: not published any more (site removed)\n", t.Name)
			return err
		}
		if !set["lat"] && !set["lon"] && !set["place"] && !set["indoor"] && !set["publish"] {
			// Nothing to change: say what is published, write nothing.
			if !exists {
				_, err := fmt.Fprintf(o.Stdout, "%s: not published (no site)\n", t.Name)
				return err
			}
			_, err := fmt.Fprintf(o.Stdout, "%s: %s (version %d)\n", t.Name, siteAuditDetail(cur), cur.Version)
			return err
		}
		if !exists && !(set["lat"] && set["lon"] && set["place"]) {
			return usageError{fmt.Sprintf("terminal site: %s has no site yet: give --lat, --lon and --place", t.Name)}
		}
		s := cur
		s.TerminalID = t.ID
		if set["lat"] {
			s.Latitude = *lat
		}
		if set["lon"] {
			s.Longitude = *lon
		}
		if set["place"] {
			s.Place = strings.TrimSpace(*place)
		}
		if set["indoor"] {
			s.Indoor = *indoor
		}
		if s.Place == "" {
			return usageError{"terminal site: --place must describe the place"}
		}
		if len(overrides) > 0 {
			p := map[string]string{}
			for q, r := range s.Publish {
				p[q] = r
			}
			for q, r := range overrides {
				if r == "default" {
					delete(p, q)
				} else {
					p[q] = r
				}
			}
			s.Publish = p
		}
		if s.Indoor && s.Resolution("co2") == store.ResolutionMinute && !*co2Minute {
			return usageError{"terminal site: indoors, CO2 per minute shows whether people are in the room; " +
				"publish it hourly (the default) or confirm with --co2-minute-indoors"}
		}
		audit.Action, audit.Detail = "site.set", siteAuditDetail(s)
		saved, err := st.PutSite(ctx, s, audit)
		if err != nil {
			return siteChangeError(t.Name, err)
		}
		_, err = fmt.Fprintf(o.Stdout, "%s: %s (version %d)\n", t.Name, siteAuditDetail(saved), saved.Version)
		return err
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// parsePublish reads --publish: "q=r,…" with q a quantity ID and r
// minute, hour, off or default.
func parsePublish(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		q, r, ok := strings.Cut(strings.TrimSpace(kv), "=")
		q, r = strings.TrimSpace(q), strings.TrimSpace(r)
		if _, known := air.QuantityByID(q); !ok || !known {
			return nil, fmt.Errorf("--publish %q: want QUANTITY=minute|hour|off|default with QUANTITY one of pm25, pm10, co2", kv)
		}
		switch r {
		case store.ResolutionMinute, store.ResolutionHour, store.ResolutionOff, "default":
		default:
			return nil, fmt.Errorf("--publish %s=%q: want minute, hour, off or default", q, r)
		}
		if _, dup := out[q]; dup {
			return nil, fmt.Errorf("--publish names %s twice", q)
		}
		out[q] = r
	}
	return out, nil
}

// siteChangeError says what a refused change means to the person who
// ran the command.
func siteChangeError(name string, err error) error {
	switch {
	case errors.Is(err, store.ErrVersionConflict):
		return fmt.Errorf("the site of %s was changed meanwhile (console or another command); nothing was changed, run the command again", name)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("the site of %s was removed meanwhile; nothing was changed", name)
	}
	return err
}

// siteAuditDetail is the site as the audit log and the command's output
// show it: the point, the place and what is published of each quantity.
func siteAuditDetail(s store.Site) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%.6f,%.6f %q indoor=%t", s.Latitude, s.Longitude, s.Place, s.Indoor)
	for _, q := range air.Quantities {
		fmt.Fprintf(&b, " %s=%s", q.ID, s.Resolution(q.ID))
	}
	return b.String()
}
