package query

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The filter grammar is OData 4.0's (OGC 18-088 section 9.3.3.5 refers to
// it) with SensorThings' additions: time and interval literals without
// quotes, geography'...' literals, substringof. Precedence, loosest first:
// or, and, not (over a comparison, so "not name eq 'x'" reads as people
// mean it), eq ne, gt ge lt le, add sub, mul div mod, unary minus.

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tTime     // date, date-time or interval literal
	tTyped    // name'...' (geography, duration, datetime)
	tPunct    // ( ) , / ;
	tUnknown  // anything else
	tOperator // "-" before something that is not a number
)

type token struct {
	kind tokKind
	pos  int
	text string // identifier, punctuation, the number as written, the typed literal's type
	str  string // string and typed literal contents (quotes undone)
}

// parser reads src[pos:end]: src is the whole value the client sent
// (for nested $expand options and $orderby keys, the option around
// them), so every position points into what the client sent.
type parser struct {
	option string
	src    string
	pos    int
	end    int
	tok    token
	nodes  int
	depth  int
	l      Limits
}

func (p *parser) errorf(pos int, format string, args ...any) *Error {
	return &Error{Option: p.option, Pos: pos, Reason: fmt.Sprintf(format, args...)}
}

var timeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?`)
var numberRE = regexp.MustCompile(`^\d+(\.\d+)?([eE][+-]?\d+)?`)

func isIdentStart(c byte) bool {
	return c == '_' || c == '@' || c == '$' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || c == '.' || ('0' <= c && c <= '9') }

// next reads the token at p.pos into p.tok.
func (p *parser) next() error {
	for p.pos < p.end && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
	start := p.pos
	if p.pos >= p.end {
		p.tok = token{kind: tEOF, pos: start}
		return nil
	}
	c := p.src[p.pos]
	switch {
	case c == '(' || c == ')' || c == ',' || c == '/' || c == ';':
		p.pos++
		p.tok = token{kind: tPunct, pos: start, text: string(c)}
	case c == '\'':
		s, err := p.quoted()
		if err != nil {
			return err
		}
		p.tok = token{kind: tString, pos: start, str: s}
	case '0' <= c && c <= '9':
		if m := timeRE.FindString(p.src[p.pos:p.end]); len(m) > 10 || (len(m) == 10 && !strings.HasPrefix(p.src[p.pos+10:p.end], ".")) {
			p.pos += len(m)
			p.tok = token{kind: tTime, pos: start, text: m}
			return nil
		}
		m := numberRE.FindString(p.src[p.pos:p.end])
		p.pos += len(m)
		p.tok = token{kind: tNumber, pos: start, text: m}
	case c == '-':
		p.pos++
		p.tok = token{kind: tOperator, pos: start, text: "-"}
	case isIdentStart(c):
		for p.pos < p.end && isIdentPart(p.src[p.pos]) {
			p.pos++
		}
		name := p.src[start:p.pos]
		if p.pos < p.end && p.src[p.pos] == '\'' {
			s, err := p.quoted()
			if err != nil {
				return err
			}
			p.tok = token{kind: tTyped, pos: start, text: strings.ToLower(name), str: s}
			return nil
		}
		p.tok = token{kind: tIdent, pos: start, text: name}
	default:
		r, _ := utf8.DecodeRuneInString(p.src[p.pos:p.end])
		return p.errorf(start, "unexpected %q", r)
	}
	return nil
}

// quoted reads a '...' string at p.pos (” is a quote).
func (p *parser) quoted() (string, error) {
	start := p.pos
	p.pos++
	var b strings.Builder
	for {
		i := strings.IndexByte(p.src[p.pos:p.end], '\'')
		if i < 0 {
			return "", p.errorf(start, "string not closed")
		}
		b.WriteString(p.src[p.pos : p.pos+i])
		p.pos += i + 1
		if p.pos < p.end && p.src[p.pos] == '\'' {
			b.WriteByte('\'')
			p.pos++
			continue
		}
		if !utf8.ValidString(b.String()) {
			return "", p.errorf(start, "string is not UTF-8")
		}
		return b.String(), nil
	}
}

func (p *parser) node(n *Node) (*Node, error) {
	p.nodes++
	if p.nodes > p.l.MaxFilterNodes {
		return nil, p.errorf(n.Pos, "expression has more than %d parts", p.l.MaxFilterNodes)
	}
	return n, nil
}

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > p.l.MaxFilterDepth {
		return p.errorf(pos, "expression nested deeper than %d", p.l.MaxFilterDepth)
	}
	return nil
}

func (p *parser) isWord(words ...string) (string, bool) {
	if p.tok.kind != tIdent {
		return "", false
	}
	for _, w := range words {
		if strings.EqualFold(p.tok.text, w) {
			return w, true
		}
	}
	return "", false
}

func (p *parser) binary(ops []string, sub func() (*Node, error)) (*Node, error) {
	left, err := sub()
	if err != nil {
		return nil, err
	}
	for {
		op, ok := p.isWord(ops...)
		if !ok {
			return left, nil
		}
		pos := p.tok.pos
		if err := p.next(); err != nil {
			return nil, err
		}
		right, err := sub()
		if err != nil {
			return nil, err
		}
		if left, err = p.node(&Node{Kind: NodeOp, Pos: pos, Op: op, Args: []*Node{left, right}}); err != nil {
			return nil, err
		}
	}
}

func (p *parser) parseOr() (*Node, error) { return p.binary([]string{"or"}, p.parseAnd) }
func (p *parser) parseAnd() (*Node, error) {
	return p.binary([]string{"and"}, p.parseNot)
}

func (p *parser) parseNot() (*Node, error) {
	if _, ok := p.isWord("not"); ok {
		pos := p.tok.pos
		if err := p.enter(pos); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		if err := p.next(); err != nil {
			return nil, err
		}
		arg, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return p.node(&Node{Kind: NodeOp, Pos: pos, Op: "not", Args: []*Node{arg}})
	}
	return p.parseEquality()
}

func (p *parser) parseEquality() (*Node, error) {
	return p.binary([]string{"eq", "ne"}, p.parseRelational)
}

func (p *parser) parseRelational() (*Node, error) {
	return p.binary([]string{"gt", "ge", "lt", "le"}, p.parseAdditive)
}

func (p *parser) parseAdditive() (*Node, error) {
	return p.binary([]string{"add", "sub"}, p.parseMultiplicative)
}

func (p *parser) parseMultiplicative() (*Node, error) {
	return p.binary([]string{"mul", "div", "mod"}, p.parseUnary)
}

func (p *parser) parseUnary() (*Node, error) {
	if p.tok.kind == tOperator {
		pos := p.tok.pos
		if err := p.enter(pos); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		if err := p.next(); err != nil {
			return nil, err
		}
		if p.tok.kind == tNumber && p.tok.pos == pos+1 {
			n, err := p.parsePrimary()
			if err != nil {
				return nil, err
			}
			switch v := n.Value.(type) {
			case int64:
				n.Value = -v
			case float64:
				n.Value = -v
			}
			n.Pos = pos
			return n, nil
		}
		arg, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return p.node(&Node{Kind: NodeOp, Pos: pos, Op: "neg", Args: []*Node{arg}})
	}
	return p.parsePrimary()
}

func (p *parser) expect(punct string) error {
	if p.tok.kind != tPunct || p.tok.text != punct {
		return p.errorf(p.tok.pos, "expected %q, found %s", punct, p.describe())
	}
	return p.next()
}

func (p *parser) describe() string {
	switch p.tok.kind {
	case tEOF:
		return "the end"
	case tString:
		return "a string"
	case tNumber, tTime:
		return strconv.Quote(p.tok.text)
	case tTyped:
		return p.tok.text + " literal"
	}
	return strconv.Quote(p.tok.text)
}

func (p *parser) parsePrimary() (*Node, error) {
	t := p.tok
	switch t.kind {
	case tPunct:
		if t.text != "(" {
			break
		}
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		if err := p.next(); err != nil {
			return nil, err
		}
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		return n, p.expect(")")
	case tString:
		if err := p.next(); err != nil {
			return nil, err
		}
		return p.node(&Node{Kind: NodeLiteral, Pos: t.pos, Value: t.str})
	case tNumber:
		if err := p.next(); err != nil {
			return nil, err
		}
		if i, err := strconv.ParseInt(t.text, 10, 64); err == nil {
			return p.node(&Node{Kind: NodeLiteral, Pos: t.pos, Value: i})
		}
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, p.errorf(t.pos, "number %s out of range", t.text)
		}
		return p.node(&Node{Kind: NodeLiteral, Pos: t.pos, Value: f})
	case tTime:
		v, err := parseTimeLiteral(t.text)
		if err != nil {
			return nil, p.errorf(t.pos, "%v", err)
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		return p.node(&Node{Kind: NodeLiteral, Pos: t.pos, Value: v})
	case tTyped:
		v, err := p.typedLiteral(t)
		if err != nil {
			return nil, err
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		return p.node(&Node{Kind: NodeLiteral, Pos: t.pos, Value: v})
	case tIdent:
		return p.parseName()
	}
	return nil, p.errorf(t.pos, "expected a value, found %s", p.describe())
}

func (p *parser) typedLiteral(t token) (any, error) {
	switch t.text {
	case "geography", "geometry":
		g, err := parseWKT(t.str, p.l.MaxPolygonPoints)
		var we *wktError
		if errors.As(err, &we) {
			// The literal's text starts after geography' (no quotes inside WKT).
			return nil, p.errorf(t.pos+len(t.text)+1+we.pos, "%s literal: %s", t.text, we.msg)
		}
		if err != nil {
			return nil, p.errorf(t.pos, "%s literal: %v", t.text, err)
		}
		return g, nil
	case "duration":
		d, err := parseDuration(t.str)
		if err != nil {
			return nil, p.errorf(t.pos, "duration literal: %v", err)
		}
		return d, nil
	case "datetime", "datetimeoffset":
		v, err := parseTimeLiteral(t.str)
		if _, ok := v.(time.Time); err != nil || !ok {
			return nil, p.errorf(t.pos, "%s literal: not a time", t.text)
		}
		return v, nil
	}
	return nil, p.errorf(t.pos, "unknown literal type %q", t.text)
}

func (p *parser) parseName() (*Node, error) {
	t := p.tok
	if err := p.next(); err != nil {
		return nil, err
	}
	switch strings.ToLower(t.text) {
	case "true", "false":
		return p.node(&Node{Kind: NodeLiteral, Pos: t.pos, Value: strings.EqualFold(t.text, "true")})
	case "null":
		return p.node(&Node{Kind: NodeLiteral, Pos: t.pos, Value: nil})
	}
	if p.tok.kind == tPunct && p.tok.text == "(" && p.tok.pos == t.pos+len(t.text) {
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		n, err := p.node(&Node{Kind: NodeFunc, Pos: t.pos, Op: strings.ToLower(t.text)})
		if err != nil {
			return nil, err
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		if p.tok.kind == tPunct && p.tok.text == ")" {
			return n, p.next()
		}
		for {
			arg, err := p.parseOr()
			if err != nil {
				return nil, err
			}
			n.Args = append(n.Args, arg)
			if p.tok.kind == tPunct && p.tok.text == "," {
				if err := p.next(); err != nil {
					return nil, err
				}
				continue
			}
			return n, p.expect(")")
		}
	}
	path := []string{t.text}
	for p.tok.kind == tPunct && p.tok.text == "/" {
		if err := p.next(); err != nil {
			return nil, err
		}
		if p.tok.kind != tIdent {
			return nil, p.errorf(p.tok.pos, "expected a property name after \"/\", found %s", p.describe())
		}
		path = append(path, p.tok.text)
		if err := p.next(); err != nil {
			return nil, err
		}
	}
	return p.node(&Node{Kind: NodePath, Pos: t.pos, Path: path})
}

// parseTimeLiteral reads a date (2026-12-06: its midnight UTC), a date and
// time with zone, or an interval start/end.
func parseTimeLiteral(s string) (any, error) {
	one := func(s string) (time.Time, error) {
		if len(s) == 10 {
			return time.Parse("2006-01-02", s)
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("bad time %q", s)
	}
	if a, b, ok := strings.Cut(s, "/"); ok {
		start, err := one(a)
		if err != nil {
			return nil, err
		}
		end, err := one(b)
		if err != nil {
			return nil, err
		}
		if end.Before(start) {
			return nil, fmt.Errorf("interval %q ends before it starts", s)
		}
		return Interval{Start: start, End: end}, nil
	}
	return one(s)
}

var durationRE = regexp.MustCompile(`^(-)?P(?:(\d{1,4})Y)?(?:(\d{1,5})M)?(?:(\d{1,6})D)?(?:T(?:(\d{1,7})H)?(?:(\d{1,9})M)?(?:(\d{1,10}(?:\.\d{1,9})?)S)?)?$`)

// parseDuration reads an ISO 8601 duration (P1Y2M3DT4H5M6.5S).
func parseDuration(s string) (Duration, error) {
	m := durationRE.FindStringSubmatch(s)
	if m == nil || s == "P" || strings.HasSuffix(s, "T") {
		return Duration{}, fmt.Errorf("bad duration %q", s)
	}
	num := func(i int) float64 {
		if m[i] == "" {
			return 0
		}
		f, _ := strconv.ParseFloat(m[i], 64)
		return f
	}
	d := Duration{Months: int(num(2)*12 + num(3))}
	secs := num(4)*86400 + num(5)*3600 + num(6)*60 + num(7)
	if secs > 1e11 {
		return Duration{}, fmt.Errorf("duration %q too long", s)
	}
	d.D = time.Duration(secs * float64(time.Second))
	if m[1] == "-" {
		d.Months, d.D = -d.Months, -d.D
	}
	return d, nil
}

// parseExpression parses the expression in src[start:end] (the option's
// value or a part of it).
func parseExpression(option, src string, start, end int, l Limits) (*Node, error) {
	if end-start > l.MaxFilterLen {
		return nil, &Error{Option: option, Pos: start + l.MaxFilterLen, Reason: fmt.Sprintf("longer than %d bytes", l.MaxFilterLen)}
	}
	p := &parser{option: option, src: src, pos: start, end: end, l: l}
	if err := p.next(); err != nil {
		return nil, err
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.errorf(p.tok.pos, "unexpected %s", p.describe())
	}
	return n, nil
}
