package sta

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/internal/sta/query"
)

// Resource paths (SensorThings 1.1 section 9.2): an entity set, an
// entity by id, navigation from an entity, a property of an entity and
// its raw $value, and $ref for links only:
//
//	/Things  /Things(1)  /Things(1)/Datastreams  /Things(1)/Datastreams(5)
//	/Datastreams(5)/Thing/Locations  /Things(1)/name  /Things(1)/name/$value
//	/Things(1)/properties/quarter  /Things/$ref  /Datastreams(5)/Thing/$ref

// Bounds of a path: anything longer is refused before it is looked at.
const (
	maxPathBytes    = 1024
	maxPathSegments = 8
)

// segment is one step of a resource path: an entity set or navigation
// property, with the id that picks one entity of a collection.
type segment struct {
	Name string
	// Set is the entity set the segment's entities belong to.
	Set   string
	HasID bool
	// ID is the entity's @iot.id. NoSuchID marks an id of the wrong
	// kind (a quoted string where ids are numbers): valid syntax that
	// names nothing, so 404.
	ID       int64
	NoSuchID bool
}

// resourcePath is a parsed and resolved resource path.
type resourcePath struct {
	// Segs is empty for the service root.
	Segs []segment
	// Prop is the property path after the last entity ("name",
	// "properties/quarter"); Value asks for its raw value.
	Prop  []string
	Value bool
	// Ref asks for the links of the addressed entity or collection only.
	Ref bool
}

// pathError is a resource path that is malformed (400) or names
// nothing that exists (404).
type pathError struct {
	NotFound bool
	Msg      string
}

func (e *pathError) Error() string { return e.Msg }

func malformed(format string, a ...any) error {
	return &pathError{Msg: "path: " + fmt.Sprintf(format, a...)}
}

func notFound(format string, a ...any) error {
	return &pathError{NotFound: true, Msg: fmt.Sprintf(format, a...)}
}

// Root reports whether p is the service root.
func (p *resourcePath) Root() bool { return len(p.Segs) == 0 }

// Last is the entity or collection the path addresses (before any
// property).
func (p *resourcePath) Last() segment { return p.Segs[len(p.Segs)-1] }

// Collection reports whether the path addresses a collection.
func (p *resourcePath) Collection() bool {
	if p.Root() || len(p.Prop) > 0 {
		return false
	}
	return isCollection(p.Segs, len(p.Segs)-1)
}

// isCollection reports whether segs[i] addresses a collection: an entity
// set or a to-many navigation property without an id.
func isCollection(segs []segment, i int) bool {
	if segs[i].HasID {
		return false
	}
	if i == 0 {
		return true
	}
	n, _ := query.NavigationOf(segs[i-1].Set, segs[i].Name)
	return n.Many
}

// parsePath parses and resolves p, the request path after the service
// root ("" or "/" for the root itself, else "/Things(1)/...").
func parsePath(p string) (*resourcePath, error) {
	if len(p) > maxPathBytes {
		return nil, malformed("longer than %d bytes", maxPathBytes)
	}
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return &resourcePath{}, nil
	}
	if p[0] != '/' {
		return nil, malformed("must start with /")
	}
	parts := strings.Split(p[1:], "/")
	if len(parts) > maxPathSegments {
		return nil, malformed("more than %d segments", maxPathSegments)
	}
	rp := &resourcePath{}
	for i, part := range parts {
		if part == "" {
			return nil, malformed("empty segment")
		}
		switch {
		case part == "$ref":
			if i != len(parts)-1 || len(rp.Prop) > 0 || len(rp.Segs) == 0 {
				return nil, malformed("$ref must end a path to an entity or collection")
			}
			rp.Ref = true
			continue
		case part == "$value":
			if i != len(parts)-1 || len(rp.Prop) == 0 {
				return nil, malformed("$value must follow a property")
			}
			rp.Value = true
			continue
		case len(rp.Prop) > 0:
			// Inside a property: a member of a JSON object.
			if strings.ContainsAny(part, "()$") {
				return nil, malformed("%q inside property %s", part, rp.Prop[0])
			}
			rp.Prop = append(rp.Prop, part)
			continue
		}
		name, id, hasID, err := splitSegment(part)
		if err != nil {
			return nil, err
		}
		if len(rp.Segs) == 0 {
			if !slices.Contains(query.EntitySets(), name) {
				return nil, notFound("no entity set %q", name)
			}
			seg := segment{Name: name, Set: name}
			if err := seg.setID(id, hasID); err != nil {
				return nil, err
			}
			rp.Segs = append(rp.Segs, seg)
			continue
		}
		prev := len(rp.Segs) - 1
		if isCollection(rp.Segs, prev) {
			return nil, malformed("%s is a collection: pick one entity by id before %s", rp.Segs[prev].Name, part)
		}
		from := rp.Segs[prev].Set
		if n, ok := query.NavigationOf(from, name); ok {
			if hasID && !n.Many {
				return nil, malformed("%s leads to one entity and takes no id", name)
			}
			seg := segment{Name: name, Set: n.Target}
			if err := seg.setID(id, hasID); err != nil {
				return nil, err
			}
			rp.Segs = append(rp.Segs, seg)
			continue
		}
		if hasID {
			return nil, notFound("%s have no navigation property %q", from, name)
		}
		if !slices.Contains(query.Properties(from), name) {
			return nil, notFound("%s have no property %q", from, name)
		}
		rp.Prop = []string{name}
	}
	return rp, nil
}

// setID sets s's id from the text between the parentheses.
func (s *segment) setID(id string, hasID bool) error {
	if !hasID {
		return nil
	}
	s.HasID = true
	if len(id) >= 2 && id[0] == '\'' && id[len(id)-1] == '\'' {
		// A string id is valid OData, but every id here is a number.
		s.NoSuchID = true
		return nil
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 0 || id[0] == '+' {
		return malformed("%s(%s): an id is a whole number", s.Name, id)
	}
	s.ID = n
	return nil
}

// splitSegment splits "Things(1)" into name and id text.
func splitSegment(part string) (name, id string, hasID bool, err error) {
	open := strings.IndexByte(part, '(')
	if open < 0 {
		if strings.ContainsAny(part, ")'$") {
			return "", "", false, malformed("bad segment %q", part)
		}
		return part, "", false, nil
	}
	if open == 0 || !strings.HasSuffix(part, ")") {
		return "", "", false, malformed("bad segment %q", part)
	}
	name, id = part[:open], part[open+1:len(part)-1]
	if id == "" || strings.ContainsAny(name, ")'$") || strings.ContainsAny(id, "()") {
		return "", "", false, malformed("bad segment %q", part)
	}
	return name, id, true, nil
}
