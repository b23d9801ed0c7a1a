// Command mkrelease writes a kiosk release artifact for the terminal's
// updater (package provisioning/release): `make release` builds the kiosk
// with the release's version and runs
//
//	mkrelease --kiosk bin/release/kiosk --version V --out dist
//
// which writes dist/quartierhub-kiosk_V_amd64.tar.gz, to be signed
// offline (hub-server release sign) and published (hub-server release add).
//
//	mkrelease --print-version --version V
//
// prints the release version of V, which may be a Debian package version
// (mkpackages --print-version), and fails for an untagged build.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"

	"github.com/quartierhub/quartierhub/provisioning/release"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mkrelease:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("mkrelease", flag.ContinueOnError)
	kiosk := fs.String("kiosk", "", "the kiosk binary, built with -X …/kiosk/cli.Version=VERSION")
	version := fs.String("version", "", "the release version (a Debian package version is turned into its release's)")
	arch := fs.String("arch", runtime.GOARCH, "the terminals' architecture, as in the target name")
	out := fs.String("out", "dist", "directory for the artifact")
	printVersion := fs.Bool("print-version", false, "print the release version of --version and stop")
	if err := fs.Parse(args); err != nil {
		return err
	}
	v, err := release.Version(*version)
	if err != nil {
		return err
	}
	if *printVersion {
		fmt.Println(v)
		return nil
	}
	if *kiosk == "" {
		return fmt.Errorf("--kiosk is required")
	}
	path, err := release.WriteFile(*out, v, *arch, *kiosk)
	if err != nil {
		return err
	}
	fmt.Println(path)
	return nil
}
