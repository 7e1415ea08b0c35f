package checks

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Template is a CloudFormation template, parsed: maps, lists and scalars,
// with every intrinsic function (long form or a short-form tag such as
// !Ref) as a one-key map {"Ref": ...} or {"Fn::Name": ...}.
type Template struct {
	Path string
	Root map[string]any
}

// LoadTemplate parses the YAML template at path.
func LoadTemplate(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) != 1 {
		return nil, fmt.Errorf("%s: not one YAML document", path)
	}
	v, err := convert(doc.Content[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: the template is not a mapping", path)
	}
	return &Template{Path: path, Root: root}, nil
}

func convert(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.AliasNode:
		return convert(n.Alias)
	case yaml.ScalarNode:
		v = scalar(n)
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			x, err := convert(c)
			if err != nil {
				return nil, err
			}
			list = append(list, x)
		}
		v = list
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			x, err := convert(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			if _, dup := m[n.Content[i].Value]; dup {
				return nil, fmt.Errorf("line %d: key %q twice", n.Content[i].Line, n.Content[i].Value)
			}
			m[n.Content[i].Value] = x
		}
		v = m
	default:
		return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
	}
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return v, nil
	}
	name := strings.TrimPrefix(n.Tag, "!")
	switch name {
	case "Ref", "Condition":
		return map[string]any{name: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			resource, attr, _ := strings.Cut(s, ".")
			v = []any{resource, attr}
		}
	}
	return map[string]any{"Fn::" + name: v}, nil
}

func scalar(n *yaml.Node) any {
	if n.Tag == "!!int" {
		if i, err := strconv.Atoi(n.Value); err == nil {
			return i
		}
	}
	if n.Tag == "!!bool" {
		return n.Value == "true"
	}
	if n.Tag == "!!float" {
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f
		}
	}
	return n.Value
}

// Intrinsic returns the function name and argument when v is an intrinsic
// function.
func Intrinsic(v any) (string, any, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", nil, false
	}
	for k, arg := range m {
		if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return k, arg, true
		}
	}
	return "", nil, false
}

// Resources returns the template's resources by logical id.
func (t *Template) Resources() map[string]map[string]any {
	out := map[string]map[string]any{}
	rs, _ := t.Root["Resources"].(map[string]any)
	for id, r := range rs {
		if m, ok := r.(map[string]any); ok {
			out[id] = m
		}
	}
	return out
}

// Section returns a top-level mapping (Parameters, Outputs, ...).
func (t *Template) Section(name string) map[string]any {
	m, _ := t.Root[name].(map[string]any)
	return m
}

// Props returns a resource's properties.
func Props(r map[string]any) map[string]any {
	m, _ := r["Properties"].(map[string]any)
	return m
}

// Walk calls fn for every value in v, depth first.
func Walk(v any, fn func(any)) {
	fn(v)
	switch x := v.(type) {
	case map[string]any:
		for _, c := range x {
			Walk(c, fn)
		}
	case []any:
		for _, c := range x {
			Walk(c, fn)
		}
	}
}
