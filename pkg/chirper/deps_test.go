package chirper_test

import (
	"go/build"
	"path/filepath"
	"strings"
	"testing"
)

// TestDependenciesPointInwards enforces DESIGN.md's direction: the domain
// imports nothing of ours; each adapter imports the domain and no other
// adapter (tests aside).
func TestDependenciesPointInwards(t *testing.T) {
	const module = "github.com/chirper/chirper/"
	allowed := map[string][]string{
		"chirper":  {},
		"postgres": {"pkg/chirper"},
		"sqlite":   {"pkg/chirper"},
		"auth":     {"pkg/chirper"},
		"httpapi":  {"pkg/chirper"},
		"config":   {},
	}
	for pkg, ok := range allowed {
		p, err := build.ImportDir(filepath.Join("..", pkg), 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range p.Imports {
			ours, isOurs := strings.CutPrefix(imp, module)
			if !isOurs {
				continue
			}
			permitted := false
			for _, a := range ok {
				permitted = permitted || ours == a
			}
			if !permitted {
				t.Errorf("pkg/%s imports %s", pkg, imp)
			}
		}
	}
}
