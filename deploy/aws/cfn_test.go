package aws_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// template is one parsed CloudFormation template. Short-form intrinsics (!Ref, !Sub, ...)
// are turned into their long form ({"Ref": x}, {"Fn::Sub": x}) so that the checks read
// the same structure CloudFormation does.
type template struct {
	file string
	doc  map[string]any
}

// loadTemplate parses deploy/aws/<file>.
func loadTemplate(tb testing.TB, file string) *template {
	tb.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		tb.Fatalf("read template: %v", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		tb.Fatalf("%s: parse: %v", file, err)
	}
	v, err := longForm(&root)
	if err != nil {
		tb.Fatalf("%s: %v", file, err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		tb.Fatalf("%s: top level is %T, want a mapping", file, v)
	}
	return &template{file: file, doc: doc}
}

// longForm converts a YAML node into plain Go values, expanding CloudFormation's tags.
func longForm(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return longForm(n.Content[0])
	case yaml.AliasNode:
		return longForm(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			val, err := longForm(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		v = m
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := longForm(c)
			if err != nil {
				return nil, err
			}
			list = append(list, val)
		}
		v = list
	case yaml.ScalarNode:
		if isIntrinsic(n.Tag) {
			v = n.Value
		} else if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
	}
	if !isIntrinsic(n.Tag) {
		return v, nil
	}
	name := strings.TrimPrefix(n.Tag, "!")
	switch name {
	case "Ref", "Condition":
		return map[string]any{name: v}, nil
	case "GetAtt":
		// The short form takes "Resource.Attribute"; the long form a two-item list.
		if s, ok := v.(string); ok {
			res, attr, _ := strings.Cut(s, ".")
			v = []any{res, attr}
		}
	}
	return map[string]any{"Fn::" + name: v}, nil
}

// isIntrinsic reports whether a tag is a CloudFormation short form rather than a YAML one.
func isIntrinsic(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}

// resources returns the template's resources of one type, by logical id.
func (t *template) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range asMap(t.doc["Resources"]) {
		res := asMap(r)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

// resource returns one resource, failing the test when it is missing or of another type.
func (t *template) resource(tb testing.TB, id, typ string) map[string]any {
	tb.Helper()
	res := asMap(asMap(t.doc["Resources"])[id])
	if res == nil {
		tb.Fatalf("%s: no resource %s", t.file, id)
	}
	if res["Type"] != typ {
		tb.Fatalf("%s: %s is %v, want %s", t.file, id, res["Type"], typ)
	}
	return res
}

// props returns a resource's Properties.
func props(res map[string]any) map[string]any { return asMap(res["Properties"]) }

// paramDefault returns a parameter's default, as a string, failing when there is none.
func (t *template) paramDefault(tb testing.TB, name string) string {
	tb.Helper()
	p := asMap(asMap(t.doc["Parameters"])[name])
	if p == nil {
		tb.Fatalf("%s: no parameter %s", t.file, name)
	}
	d, ok := p["Default"]
	if !ok {
		tb.Fatalf("%s: parameter %s has no default", t.file, name)
	}
	return fmt.Sprint(d)
}

// value resolves v to a string the way a deploy with every default would: a literal as it
// is, a Ref to a parameter as that parameter's default (through the root stack, when the
// template is nested and the root passes the parameter on).
func (s *stack) value(tb testing.TB, v any) string {
	tb.Helper()
	if ref, ok := asMap(v)["Ref"].(string); ok {
		if _, isParam := asMap(s.t.doc["Parameters"])[ref]; isParam {
			if s.parent != nil {
				if passed, ok := s.passed[ref]; ok {
					return s.parent.value(tb, passed)
				}
			}
			return s.t.paramDefault(tb, ref)
		}
		tb.Fatalf("%s: value %v is a Ref to resource %s, not a parameter", s.t.file, v, ref)
	}
	if _, ok := v.(map[string]any); ok {
		tb.Fatalf("%s: value %v is an expression, want a literal or a parameter", s.t.file, v)
	}
	return fmt.Sprint(v)
}

// stack is a template as deployed: either the root, or nested in it with the parameters
// the root passes.
type stack struct {
	t      *template
	parent *stack
	passed map[string]any
}

// deployment loads main.yaml and its nested stacks, keyed by template file name.
func deployment(tb testing.TB) map[string]*stack {
	tb.Helper()
	root := &stack{t: loadTemplate(tb, "main.yaml")}
	out := map[string]*stack{"main.yaml": root}
	for id, res := range root.t.resources("AWS::CloudFormation::Stack") {
		p := props(res)
		url, _ := p["TemplateURL"].(string)
		file := filepath.Clean(url)
		if _, err := os.Stat(file); err != nil {
			tb.Fatalf("main.yaml: %s: TemplateURL %q: %v", id, url, err)
		}
		out[file] = &stack{t: loadTemplate(tb, file), parent: root, passed: asMap(p["Parameters"])}
	}
	return out
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
