package cli

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/opendata"
)

// catalogFlags registers the open data catalogue's flags (serve and
// export --open-data) into c.
func catalogFlags(fs *flag.FlagSet, c *opendata.Catalog) {
	c.Licence = opendata.DefaultLicence
	fs.Func("open-data-licence", "licence of the open data files: "+opendata.LicenceIDs()+" (default "+opendata.DefaultLicence+")", func(v string) error {
		if _, ok := opendata.LicenceByID(v); !ok {
			return fmt.Errorf("unknown licence %q: one of %s", v, opendata.LicenceIDs())
		}
		c.Licence = v
		return nil
	})
	fs.StringVar(&c.Publisher, "open-data-publisher", "", "who publishes the open data, e.g. Landeshauptstadt Dresden (default Quartierhub)")
	fs.StringVar(&c.ContactEmail, "open-data-contact", "", "contact email of the open data catalogue (empty: none)")
	fs.Func("open-data-geocoding", "DCAT-AP.de political geocoding URI of the area, e.g. http://dcat-ap.de/def/politicalGeocoding/municipalityKey/14612000 (Dresden) (default none)", func(v string) error {
		if _, err := opendata.GeocodingLevel(v); err != nil {
			return err
		}
		c.PoliticalGeocoding = v
		return nil
	})
	fs.StringVar(&c.ContributorID, "open-data-contributor", "", "the publisher's DCAT-AP.de contributor URI, http://dcat-ap.de/def/contributors/… (GovData needs it; empty: none)")
	fs.StringVar(&c.Title, "open-data-title", "", `title of the open data catalogue (default "Quartierhub – offene Umweltdaten")`)
}

// openDataExport are export's flags for --open-data.
type openDataExport struct {
	dir      string
	from, to string
	catalog  opendata.Catalog
}

func openDataFlags(fs *flag.FlagSet) *openDataExport {
	od := &openDataExport{}
	fs.StringVar(&od.dir, "open-data", "", "write the open data files into this directory instead of exporting records")
	fs.StringVar(&od.from, "from", "", "with --open-data: first UTC day to write, YYYY-MM-DD (default 30 days before --to)")
	fs.StringVar(&od.to, "to", "", "with --open-data: last UTC day to write, YYYY-MM-DD (default the last finished day)")
	fs.StringVar(&od.catalog.PublicURL, "public-url", "", "with --open-data: the hub's address as the portal reaches it, e.g. https://hub.example.org (the catalogue's links)")
	catalogFlags(fs, &od.catalog)
	return od
}

// exportOpenData writes the open data files into od.dir and prints each
// file written with its size.
func exportOpenData(ctx context.Context, fs *flag.FlagSet, data *storeLoc, od *openDataExport, o Opts) error {
	var typeOrFormat bool
	fs.Visit(func(f *flag.Flag) { typeOrFormat = typeOrFormat || f.Name == "type" || f.Name == "format" })
	if typeOrFormat {
		return usageError{"export: --open-data writes the open data files; --type and --format are for records"}
	}
	if od.catalog.PublicURL == "" {
		return usageError{"export: --open-data needs --public-url (the catalogue's links start with it)"}
	}
	st, err := openStore(ctx, data)
	if err != nil {
		return err
	}
	defer st.Close()
	files, err := opendata.New(st, opendata.Opts{Catalog: od.catalog, Now: o.Now})
	if err != nil {
		return usageError{"export: " + err.Error()}
	}
	to := files.LastFinishedDay(o.Now())
	if od.to != "" {
		if to, err = time.Parse(time.DateOnly, od.to); err != nil {
			return usageError{fmt.Sprintf("export: --to %q is not a date YYYY-MM-DD", od.to)}
		}
	}
	from := to.AddDate(0, 0, -(opendata.DefaultCatalogDays - 1))
	if od.from != "" {
		if from, err = time.Parse(time.DateOnly, od.from); err != nil {
			return usageError{fmt.Sprintf("export: --from %q is not a date YYYY-MM-DD", od.from)}
		}
	}
	written, err := files.Export(ctx, od.dir, from, to)
	for _, w := range written {
		fmt.Fprintf(o.Stdout, "%s\t%d\n", w.Path, w.Bytes)
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
