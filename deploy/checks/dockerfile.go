package checks

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Image is one Dockerfile of the repository, parsed.
type Image struct {
	Dockerfile string // path from the repository root
	Package    string // the Go package it builds, such as ./cmd/services/users
	Stages     []instructions.Stage
	// BuildCommand is the command line of the builder's RUN that compiles
	// the binary; Output is its -o path, relative to the repository root.
	BuildCommand string
	Output       string
}

// Dockerfiles are where the repository keeps them.
var Dockerfiles = []string{"cmd/services/*/Dockerfile", "cmd/standalone/Dockerfile", "deploy/local/Dockerfile"}

// goBuildAll is the builder's compile: every binary into bin/, the same
// command in each Dockerfile so that an engine compiles them once.
var goBuildAll = regexp.MustCompile(`\bgo build\b.*\s-o\s+bin/\s+(.+?)\s*$`)

// LoadImages parses every Dockerfile under root with BuildKit's parser.
func LoadImages(root string) ([]Image, error) {
	var images []Image
	for _, pattern := range Dockerfiles {
		paths, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			return nil, err
		}
		for _, path := range paths {
			img, err := loadImage(root, path)
			if err != nil {
				return nil, err
			}
			images = append(images, img)
		}
	}
	if len(images) == 0 {
		return nil, fmt.Errorf("no Dockerfile under %s", root)
	}
	return images, nil
}

func loadImage(root, path string) (Image, error) {
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return Image{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return Image{}, err
	}
	defer f.Close()
	ast, err := parser.Parse(f)
	if err != nil {
		return Image{}, fmt.Errorf("%s: %w", rel, err)
	}
	stages, _, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		return Image{}, fmt.Errorf("%s: %w", rel, err)
	}
	img := Image{Dockerfile: rel, Package: "./" + filepath.ToSlash(filepath.Dir(rel)), Stages: stages}
	for _, cmd := range stages[0].Commands {
		run, ok := cmd.(*instructions.RunCommand)
		if !ok {
			continue
		}
		line := strings.Join(run.CmdLine, " ")
		if m := goBuildAll.FindStringSubmatch(line); m != nil {
			img.BuildCommand, img.Output = line, "bin/"+filepath.Base(img.Package)
			if !slices.ContainsFunc(strings.Fields(m[1]), func(p string) bool { return covers(p, img.Package) }) {
				return Image{}, fmt.Errorf("%s builds %s, not its own package %s", rel, m[1], img.Package)
			}
		}
	}
	if img.BuildCommand == "" {
		return Image{}, fmt.Errorf("%s: its first stage has no RUN ... go build -o bin/ PKGS", rel)
	}
	return img, nil
}

// covers reports whether the package pattern (./x or ./x/...) takes pkg.
func covers(pattern, pkg string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
	}
	return pattern == pkg
}
