package ui

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/quartierhub/quartierhub/assets"
)

func s2n(s string) fyne.ThemeSizeName { return fyne.ThemeSizeName(s) }

// uiCalls are the calls whose string arguments a resident reads.
var uiCalls = regexp.MustCompile(`^(widget\.New\w+|canvas\.NewText|u\.heading|u\.subheading|u\.wrapped|plainWrapped|u\.notice|u\.button|u\.buttonAs|u\.inactiveButton|u\.tile|u\.formItem|u\.sbutton|u\.toggle|u\.disabledButton|newTile|u\.newChoice|\w+\.SetText|\w+\.SetPlaceHolder|widget\.NewFormItem|\w+\.Append)$`)

// TestNoHardCodedStrings fails if a string literal other than "" or a
// translation key reaches a widget, and if a key the window uses is
// missing from a translation file.
func TestNoHardCodedStrings(t *testing.T) {
	cat, err := assets.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			fn := exprName(call.Fun)
			if fn == "u.tr" || fn == "u.cat.T" {
				// The key argument must exist in every language.
				arg := call.Args[0]
				if fn == "u.cat.T" {
					arg = call.Args[1]
				}
				if lit, ok := arg.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					key, _ := strconv.Unquote(lit.Value)
					if !cat.HasKey(key) {
						t.Errorf("%s: key %q is missing from a translation file", fset.Position(lit.Pos()), key)
					}
				}
				return true
			}
			if !uiCalls.MatchString(fn) {
				return true
			}
			for _, a := range call.Args {
				lit, ok := a.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				if s, _ := strconv.Unquote(lit.Value); strings.TrimSpace(s) != "" {
					t.Errorf("%s: hard-coded UI string %s in %s(); put it in assets/i18n", fset.Position(lit.Pos()), lit.Value, fn)
				}
			}
			return true
		})
	}
}

func exprName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return exprName(x.X) + "." + x.Sel.Name
	}
	return ""
}
