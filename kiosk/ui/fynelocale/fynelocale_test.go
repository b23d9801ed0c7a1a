package fynelocale_test

import (
	"testing"

	"github.com/quartierhub/quartierhub/kiosk/ui/fynelocale"
)

func TestQuiet(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{"LANG": "C.UTF-8"}, true},
		{map[string]string{"LANG": "POSIX.utf8"}, true},
		{map[string]string{"LC_ALL": "C.UTF-8", "LANG": "de_DE.UTF-8"}, true},
		{map[string]string{"LC_MESSAGES": "C.UTF-8"}, true},
		{map[string]string{"LANG": "C.UTF-8", "LANGUAGE": "de"}, false},
		{map[string]string{"LANG": "C"}, false},
		{map[string]string{"LANG": "POSIX"}, false},
		{map[string]string{}, false},
		{map[string]string{"LANG": "de_DE.UTF-8"}, false},
		{map[string]string{"LC_ALL": "de_DE.UTF-8", "LANG": "C.UTF-8"}, false},
	} {
		if got := fynelocale.Quiet(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("%v: Quiet = %v, want %v", c.env, got, c.want)
		}
	}
}
