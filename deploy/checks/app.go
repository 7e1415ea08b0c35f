package checks

import (
	"bytes"
	_ "embed"
	"strings"
	"text/template"

	"github.com/chirper/chirper/pkg/httpapi"
)

//go:embed app.yaml.tmpl
var appTemplate string

// AppTemplate renders the app stack's template from the routing table.
func AppTemplate() ([]byte, error) {
	t, err := template.New("app.yaml").Funcs(template.FuncMap{"join": strings.Join}).Parse(appTemplate)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = t.Execute(&b, struct {
		Services []Service
		Rules    []Rule
	}{Services, ListenerRules(httpapi.Routes)})
	return b.Bytes(), err
}
