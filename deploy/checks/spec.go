package checks

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Spec is the CloudFormation resource specification as the npm package
// @aws-cdk/aws-service-spec ships it (db.json.gz): every resource type, its
// properties (with their types, which are required, allowed values) and its
// attributes.
type Spec struct {
	resources map[string]*specShape // by CloudFormation type
	types     map[string]*specShape // property types by $id
}

type specShape struct {
	Properties map[string]specProp `json:"properties"`
	Attributes map[string]any      `json:"attributes"`
}

type specProp struct {
	Type     specType `json:"type"`
	Required bool     `json:"required"`
}

type specType struct {
	Type          string     `json:"type"`
	Reference     *specRef   `json:"reference"`
	Element       *specType  `json:"element"`
	Types         []specType `json:"types"`
	AllowedValues []any      `json:"allowedValues"`
}

type specRef struct {
	ID string `json:"$ref"`
}

// LoadSpec reads db.json.gz.
func LoadSpec(path string) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var db struct {
		Schema struct {
			Resource struct {
				Entities []struct {
					specShape
					CloudFormationType string `json:"cloudFormationType"`
				} `json:"entities"`
			} `json:"resource"`
			TypeDefinition struct {
				Entities []struct {
					specShape
					ID string `json:"$id"`
				} `json:"entities"`
			} `json:"typeDefinition"`
		} `json:"schema"`
	}
	if err := json.NewDecoder(zr).Decode(&db); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s := &Spec{resources: map[string]*specShape{}, types: map[string]*specShape{}}
	for i := range db.Schema.Resource.Entities {
		e := &db.Schema.Resource.Entities[i]
		s.resources[e.CloudFormationType] = &e.specShape
	}
	for i := range db.Schema.TypeDefinition.Entities {
		e := &db.Schema.TypeDefinition.Entities[i]
		s.types[e.ID] = &e.specShape
	}
	if len(s.resources) < 1000 {
		return nil, fmt.Errorf("%s: only %d resource types; not the service spec", path, len(s.resources))
	}
	return s, nil
}

var pseudoParams = []string{"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}

var (
	topLevelKeys = []string{"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings", "Conditions", "Transform", "Resources", "Outputs"}
	resourceKeys = []string{"Type", "Properties", "DependsOn", "Condition", "DeletionPolicy", "UpdateReplacePolicy", "Metadata", "CreationPolicy", "UpdatePolicy"}
	subVar       = regexp.MustCompile(`\$\{([^!}][^}]*)\}`)
)

// Validate checks the template against the specification: resource types,
// property names, nesting and required properties, allowed values, and every
// Ref, GetAtt, Sub variable and Condition naming something that exists.
func (s *Spec) Validate(t *Template) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{t.Path}, args...)...))
	}
	for k := range t.Root {
		if !slices.Contains(topLevelKeys, k) {
			bad("unknown top-level section %q", k)
		}
	}
	resources := t.Resources()
	params := t.Section("Parameters")
	conditions := t.Section("Conditions")
	refable := func(name string) bool {
		_, isParam := params[name]
		_, isRes := resources[name]
		return isParam || isRes || slices.Contains(pseudoParams, name)
	}
	checkRefs := func(where string, v any, locals map[string]bool) {
		Walk(v, func(x any) {
			fn, arg, ok := Intrinsic(x)
			if !ok {
				return
			}
			switch fn {
			case "Ref":
				if name, _ := arg.(string); !refable(name) {
					bad("%s: Ref to unknown %q", where, name)
				}
			case "Fn::GetAtt":
				s.checkGetAtt(where, arg, resources, bad)
			case "Fn::Sub":
				text, vars := arg, map[string]bool{}
				if list, ok := arg.([]any); ok && len(list) == 2 {
					text = list[0]
					m, _ := list[1].(map[string]any)
					for k := range m {
						vars[k] = true
					}
				}
				str, _ := text.(string)
				for _, m := range subVar.FindAllStringSubmatch(str, -1) {
					name, attr, hasAttr := strings.Cut(m[1], ".")
					switch {
					case vars[name] || locals[name]:
					case hasAttr:
						s.checkGetAtt(where, []any{name, attr}, resources, bad)
					case !refable(name):
						bad("%s: ${%s} names nothing", where, m[1])
					}
				}
			case "Fn::If", "Condition":
				name := arg
				if list, ok := arg.([]any); ok && len(list) > 0 {
					name = list[0]
				}
				if _, ok := conditions[name.(string)]; !ok {
					bad("%s: unknown condition %v", where, name)
				}
			}
		})
	}
	if len(resources) == 0 {
		bad("no resources")
	}
	for id, r := range resources {
		for k := range r {
			if !slices.Contains(resourceKeys, k) {
				bad("%s: unknown resource attribute %q", id, k)
			}
		}
		typ, _ := r["Type"].(string)
		shape, ok := s.resources[typ]
		if !ok {
			bad("%s: unknown resource type %q", id, typ)
			continue
		}
		s.checkObject(id+".Properties", Props(r), shape, bad)
		checkRefs(id, r, nil)
		if c, ok := r["Condition"].(string); ok {
			if _, ok := conditions[c]; !ok {
				bad("%s: unknown condition %q", id, c)
			}
		}
		for _, dep := range asList(r["DependsOn"]) {
			if _, ok := resources[dep.(string)]; !ok {
				bad("%s: DependsOn unknown %v", id, dep)
			}
		}
	}
	checkRefs("Outputs", t.Root["Outputs"], nil)
	checkRefs("Conditions", t.Root["Conditions"], nil)
	return errs
}

func asList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

func (s *Spec) checkGetAtt(where string, arg any, resources map[string]map[string]any, bad func(string, ...any)) {
	list, _ := arg.([]any)
	if len(list) != 2 {
		bad("%s: GetAtt %v is not [resource, attribute]", where, arg)
		return
	}
	id, _ := list[0].(string)
	attr, _ := list[1].(string)
	r, ok := resources[id]
	if !ok {
		bad("%s: GetAtt of unknown resource %q", where, id)
		return
	}
	typ, _ := r["Type"].(string)
	if shape, ok := s.resources[typ]; ok {
		if _, ok := shape.Attributes[attr]; !ok {
			names := make([]string, 0, len(shape.Attributes))
			for n := range shape.Attributes {
				names = append(names, n)
			}
			sort.Strings(names)
			bad("%s: %s (%s) has no attribute %q (it has %v)", where, id, typ, attr, names)
		}
	}
}

func (s *Spec) checkObject(where string, obj map[string]any, shape *specShape, bad func(string, ...any)) {
	if _, _, ok := Intrinsic(obj); ok {
		return
	}
	for name, p := range shape.Properties {
		if _, ok := obj[name]; p.Required && !ok {
			bad("%s: required property %s is missing", where, name)
		}
	}
	for name, v := range obj {
		p, ok := shape.Properties[name]
		if !ok {
			bad("%s: unknown property %q", where, name)
			continue
		}
		s.checkValue(where+"."+name, v, p.Type, bad)
	}
}

func (s *Spec) checkValue(where string, v any, t specType, bad func(string, ...any)) {
	if fn, _, ok := Intrinsic(v); ok {
		if t.Type == "array" && fn != "Fn::Split" && fn != "Fn::GetAZs" && fn != "Fn::If" && fn != "Ref" && fn != "Fn::GetAtt" && fn != "Fn::FindInMap" {
			bad("%s: %s does not make a list", where, fn)
		}
		return
	}
	switch t.Type {
	case "ref":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("%s: want an object, got %T", where, v)
			return
		}
		if shape, ok := s.types[t.Reference.ID]; ok {
			s.checkObject(where, obj, shape, bad)
		}
	case "array":
		list, ok := v.([]any)
		if !ok {
			bad("%s: want a list, got %T", where, v)
			return
		}
		for i, e := range list {
			s.checkValue(fmt.Sprintf("%s[%d]", where, i), e, *t.Element, bad)
		}
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			bad("%s: want a map, got %T", where, v)
			return
		}
		for k, e := range m {
			s.checkValue(where+"."+k, e, *t.Element, bad)
		}
	case "tag":
		m, ok := v.(map[string]any)
		if _, hasKey := m["Key"]; !ok || !hasKey {
			bad("%s: a tag needs Key and Value", where)
		}
	case "union":
		for _, alt := range t.Types {
			var errs int
			s.checkValue(where, v, alt, func(string, ...any) { errs++ })
			if errs == 0 {
				return
			}
		}
		bad("%s: %v fits none of the allowed shapes", where, v)
	case "string":
		switch x := v.(type) {
		case string:
			if len(t.AllowedValues) > 0 && !slices.Contains(t.AllowedValues, any(x)) {
				bad("%s: %q is not one of %v", where, x, t.AllowedValues)
			}
		case map[string]any, []any:
			bad("%s: want a string, got %T", where, v)
		}
	case "integer", "number", "boolean":
		if _, isObj := v.(map[string]any); isObj {
			bad("%s: want a %s, got an object", where, t.Type)
		}
		if _, isList := v.([]any); isList {
			bad("%s: want a %s, got a list", where, t.Type)
		}
	}
}
