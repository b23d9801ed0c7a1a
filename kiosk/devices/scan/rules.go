package scan

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// Rules files are udev's (udev(7)): one rule a line (a backslash joins
// lines), keys separated by commas, each KEY or KEY{attr}, an operator
// and a double-quoted value. This reader knows the keys the terminal's
// rules use and those a pin line needs; a rule with any other key is an
// error when it is evaluated, so a check never passes by skipping a rule
// it does not understand.

// Limits of a rules file (udev's own files are a few KiB).
const (
	MaxRulesBytes = 1 << 20
	maxLineBytes  = 16 << 10
	maxKeys       = 64
)

// Op is a key's operator.
type Op int

// Operators.
const (
	OpMatch   Op = iota // ==
	OpNoMatch           // !=
	OpAssign            // =
	OpAdd               // +=
	OpRemove            // -=
	OpFinal             // :=
)

var opText = map[Op]string{OpMatch: "==", OpNoMatch: "!=", OpAssign: "=", OpAdd: "+=", OpRemove: "-=", OpFinal: ":="}

func (o Op) String() string { return opText[o] }

// Key is one key of a rule.
type Key struct {
	Name  string // e.g. ATTRS
	Attr  string // the part in braces, e.g. idVendor
	Op    Op
	Value string
}

// Rule is one rule line.
type Rule struct {
	File string
	Line int // of its first line
	Keys []Key
}

// Where names the rule as udev's log does: file:line.
func (r Rule) Where() string { return fmt.Sprintf("%s:%d", r.File, r.Line) }

// ParseRules reads a rules file; name is used in errors and Where.
func ParseRules(name string, data []byte) ([]Rule, error) {
	if len(data) > MaxRulesBytes {
		return nil, fmt.Errorf("scan: %s: %d bytes, more than %d", name, len(data), MaxRulesBytes)
	}
	var rules []Rule
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		first := i + 1
		line := lines[i]
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + lines[i]
			if len(line) > maxLineBytes {
				break
			}
		}
		if len(line) > maxLineBytes {
			return nil, fmt.Errorf("scan: %s:%d: line longer than %d bytes", name, first, maxLineBytes)
		}
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' {
			continue
		}
		keys, err := parseKeys(t)
		if err != nil {
			return nil, fmt.Errorf("scan: %s:%d: %w", name, first, err)
		}
		rules = append(rules, Rule{File: name, Line: first, Keys: keys})
	}
	return rules, nil
}

func parseKeys(s string) ([]Key, error) {
	var keys []Key
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			if len(keys) == 0 {
				return nil, fmt.Errorf("a rule without keys")
			}
			return keys, nil
		}
		if len(keys) == maxKeys {
			return nil, fmt.Errorf("more than %d keys", maxKeys)
		}
		var k Key
		n := 0
		for n < len(s) && (s[n] == '_' || s[n] >= 'A' && s[n] <= 'Z' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= '0' && s[n] <= '9') {
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("a key name expected at %q", clip(s))
		}
		k.Name, s = s[:n], s[n:]
		if strings.HasPrefix(s, "{") {
			end := strings.IndexByte(s, '}')
			if end < 0 {
				return nil, fmt.Errorf("%s: unclosed {", k.Name)
			}
			k.Attr, s = s[1:end], s[end+1:]
			if k.Attr == "" {
				return nil, fmt.Errorf("%s: empty {}", k.Name)
			}
		}
		s = strings.TrimLeft(s, " \t")
		op := Op(-1)
		for o, t := range opText {
			if strings.HasPrefix(s, t) && (op < 0 || len(t) > len(opText[op])) {
				op = o
			}
		}
		if op < 0 {
			return nil, fmt.Errorf("%s: an operator (== != = += -= :=) expected at %q", k.Name, clip(s))
		}
		k.Op, s = op, strings.TrimLeft(s[len(opText[op]):], " \t")
		if !strings.HasPrefix(s, `"`) {
			return nil, fmt.Errorf("%s: a value in double quotes expected at %q", k.Name, clip(s))
		}
		var v strings.Builder
		closed := false
		i := 1
		for ; i < len(s); i++ {
			c := s[i]
			if c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
				v.WriteByte(s[i+1])
				i++
				continue
			}
			if c == '"' {
				closed = true
				break
			}
			v.WriteByte(c)
		}
		if !closed {
			return nil, fmt.Errorf("%s: unclosed value", k.Name)
		}
		k.Value, s = v.String(), s[i+1:]
		if s != "" && s[0] != ',' && s[0] != ' ' && s[0] != '\t' {
			return nil, fmt.Errorf("%s: a comma expected at %q", k.Name, clip(s))
		}
		keys = append(keys, k)
	}
}

func clip(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

// File is one parsed rules file; udev reads files in order of their
// names, whatever directory they are in.
type File struct {
	Name  string
	Rules []Rule
}

// Result is what the rules did to a device.
type Result struct {
	Env      map[string]string
	Symlinks []string // below /dev, e.g. quartierhub/pm
	Group    string
	Mode     string
	Owner    string
	// Applied lists the rules whose matches all held (file:line).
	Applied []string
}

// Name is the device's stable name: its link below /dev/quartierhub.
func (r Result) Name() string {
	for _, l := range r.Symlinks {
		if n, ok := strings.CutPrefix(l, LinkDir+"/"); ok {
			return n
		}
	}
	return ""
}

// Apply runs files (sorted by name, as udev does) on d for action.
func Apply(files []File, d Device, action string) (Result, error) {
	files = append([]File(nil), files...)
	sort.SliceStable(files, func(i, j int) bool { return path.Base(files[i].Name) < path.Base(files[j].Name) })
	res := Result{Env: map[string]string{}}
	for k, v := range d.Env {
		res.Env[k] = v
	}
	res.Env["ACTION"] = action
	final := map[string]bool{}
	for _, f := range files {
		for i := 0; i < len(f.Rules); i++ {
			r := f.Rules[i]
			ok, err := matches(r, d, action, res)
			if err != nil {
				return res, fmt.Errorf("scan: %s: %w", r.Where(), err)
			}
			if !ok {
				continue
			}
			res.Applied = append(res.Applied, r.Where())
			jump := ""
			for _, k := range r.Keys {
				if k.Op == OpMatch || k.Op == OpNoMatch {
					continue
				}
				if err := assign(&res, final, k, d); err != nil {
					return res, fmt.Errorf("scan: %s: %w", r.Where(), err)
				}
				if k.Name == "GOTO" {
					jump = k.Value
				}
			}
			if jump != "" {
				to := -1
				for j := i + 1; j < len(f.Rules) && to < 0; j++ {
					for _, k := range f.Rules[j].Keys {
						if k.Name == "LABEL" && k.Value == jump {
							to = j
						}
					}
				}
				if to < 0 {
					return res, fmt.Errorf("scan: %s: GOTO %q has no LABEL after it", r.Where(), jump)
				}
				i = to - 1
			}
		}
	}
	return res, nil
}

// matches tells whether every match key of r holds. The keys that search
// the parents (KERNELS, SUBSYSTEMS, DRIVERS, ATTRS) must all hold on one
// and the same device of the chain, as in udev.
func matches(r Rule, d Device, action string, res Result) (bool, error) {
	var parentKeys []Key
	for _, k := range r.Keys {
		if k.Op != OpMatch && k.Op != OpNoMatch {
			continue
		}
		var got string
		have := true
		switch k.Name {
		case "ACTION":
			got = action
		case "KERNEL":
			got = d.Kernel
		case "SUBSYSTEM":
			got = d.Subsystem
		case "DEVPATH":
			got = d.SysPath
		case "DRIVER":
			if len(d.Chain) > 0 {
				got = d.Chain[0].Driver
			}
		case "ENV":
			got = res.Env[k.Attr]
		case "ATTR":
			if len(d.Chain) == 0 {
				have = false
			} else {
				got, have = d.Chain[0].Attr(k.Attr)
			}
		case "SYMLINK":
			got = strings.Join(res.Symlinks, " ")
		case "KERNELS", "SUBSYSTEMS", "DRIVERS", "ATTRS":
			parentKeys = append(parentKeys, k)
			continue
		case "LABEL", "GOTO":
			continue
		default:
			return false, fmt.Errorf("match key %s is not supported by this reader", k.Name)
		}
		if k.Name == "ATTR" && !have {
			return false, nil // udev: a missing attribute never matches
		}
		if glob(k.Value, got) != (k.Op == OpMatch) {
			return false, nil
		}
	}
	if len(parentKeys) == 0 {
		return true, nil
	}
	for _, n := range d.Chain {
		if parentMatch(parentKeys, n) {
			return true, nil
		}
	}
	return false, nil
}

func parentMatch(keys []Key, n Node) bool {
	for _, k := range keys {
		var got string
		switch k.Name {
		case "KERNELS":
			got = n.Kernel
		case "SUBSYSTEMS":
			got = n.Subsystem
		case "DRIVERS":
			got = n.Driver
		case "ATTRS":
			v, ok := n.Attr(k.Attr)
			if !ok {
				return false
			}
			got = v
		}
		if glob(k.Value, got) != (k.Op == OpMatch) {
			return false
		}
	}
	return true
}

func assign(res *Result, final map[string]bool, k Key, d Device) error {
	id := k.Name + "{" + k.Attr + "}"
	if final[id] {
		return nil
	}
	if k.Op == OpFinal {
		final[id] = true
	}
	v := substitute(k.Value, d, res.Env)
	switch k.Name {
	case "ENV":
		switch k.Op {
		case OpAdd:
			res.Env[k.Attr] += v
		case OpAssign, OpFinal:
			res.Env[k.Attr] = v
		default:
			return fmt.Errorf("ENV{%s}%s is not an assignment", k.Attr, k.Op)
		}
	case "SYMLINK":
		links := strings.Fields(v)
		switch k.Op {
		case OpAssign, OpFinal:
			res.Symlinks = links
		case OpAdd:
			res.Symlinks = append(res.Symlinks, links...)
		case OpRemove:
			res.Symlinks = removeAll(res.Symlinks, links)
		}
	case "GROUP":
		res.Group = v
	case "MODE":
		res.Mode = v
	case "OWNER":
		res.Owner = v
	case "GOTO", "LABEL":
	default:
		return fmt.Errorf("assignment to %s is not supported by this reader", k.Name)
	}
	return nil
}

func removeAll(have, drop []string) []string {
	var out []string
	for _, h := range have {
		keep := true
		for _, d := range drop {
			keep = keep && h != d
		}
		if keep {
			out = append(out, h)
		}
	}
	return out
}

// substitute expands $env{NAME}, %E{NAME}, %k, $kernel, %% and $$.
func substitute(s string, d Device, env map[string]string) string {
	if !strings.ContainsAny(s, "$%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "$$"), strings.HasPrefix(rest, "%%"):
			b.WriteByte(s[i])
			i++
		case strings.HasPrefix(rest, "$env{"), strings.HasPrefix(rest, "%E{"):
			open := strings.IndexByte(rest, '{')
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				b.WriteString(rest)
				return b.String()
			}
			b.WriteString(env[rest[open+1:end]])
			i += end
		case strings.HasPrefix(rest, "$kernel"):
			b.WriteString(d.Kernel)
			i += len("$kernel") - 1
		case strings.HasPrefix(rest, "%k"):
			b.WriteString(d.Kernel)
			i++
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// glob matches value against a udev pattern: alternatives separated by
// |, each with *, ? and [set] (ranges, ! or ^ negates). Unlike a file
// name pattern, * also matches /. An empty pattern matches an empty
// value only.
func glob(pattern, value string) bool {
	for _, alt := range strings.Split(pattern, "|") {
		if globOne(alt, value) {
			return true
		}
	}
	return false
}

// globOne is the usual linear matcher that backtracks only to the last
// star, so no pattern takes more than len(pattern)×len(value) steps.
func globOne(p, v string) bool {
	pi, vi := 0, 0
	star, mark := -1, 0
	for vi < len(v) {
		if pi < len(p) {
			switch p[pi] {
			case '*':
				star, mark = pi, vi
				pi++
				continue
			case '?':
				pi++
				vi++
				continue
			case '[':
				if n, ok := matchSet(p[pi:], v[vi]); n > 0 {
					if ok {
						pi += n
						vi++
						continue
					}
				} else if v[vi] == '[' { // an unclosed [ is itself
					pi++
					vi++
					continue
				}
			default:
				if p[pi] == v[vi] {
					pi++
					vi++
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		pi, mark = star+1, mark+1
		vi = mark
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// matchSet matches c against the set at the start of p ("[...]"); n is
// the set's length, 0 if it is not closed.
func matchSet(p string, c byte) (n int, ok bool) {
	i := 1
	neg := false
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		neg = true
		i++
	}
	first := true
	for ; i < len(p); i++ {
		if p[i] == ']' && !first {
			return i + 1, ok != neg
		}
		first = false
		lo := p[i]
		hi := lo
		if i+2 < len(p) && p[i+1] == '-' && p[i+2] != ']' {
			hi = p[i+2]
			i += 2
		}
		if lo <= c && c <= hi {
			ok = true
		}
	}
	return 0, false
}
