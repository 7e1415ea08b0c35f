// Command images-check runs the build command of every Dockerfile as a
// plain command from the repository root (no Docker engine needed) and
// reports the size of each binary; it fails when a service binary is 20 MB
// or more.
//
//	go run ./cmd/images-check -root ../..   (make images-check)
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/chirper/chirper/deploy/checks"
)

// maxServiceBytes is the size a service binary must stay under.
const maxServiceBytes = 20 << 20

func main() {
	root := flag.String("root", "../..", "the repository root")
	flag.Parse()
	if err := run(*root); err != nil {
		fmt.Fprintln(os.Stderr, "images-check:", err)
		os.Exit(1)
	}
}

func run(root string) error {
	images, err := checks.LoadImages(root)
	if err != nil {
		return err
	}
	failed := false
	for _, img := range images {
		cmd := exec.Command("sh", "-c", img.BuildCommand)
		cmd.Dir = root
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %s: %w", img.Dockerfile, img.BuildCommand, err)
		}
		info, err := os.Stat(filepath.Join(root, img.Output))
		if err != nil {
			return err
		}
		verdict := "ok"
		if strings.HasPrefix(img.Package, "./cmd/services/") && info.Size() >= maxServiceBytes {
			verdict, failed = "TOO LARGE (limit 20 MB)", true
		}
		fmt.Printf("%-36s %-24s %6.1f MB  %s\n", img.Dockerfile, img.Output, float64(info.Size())/(1<<20), verdict)
	}
	if failed {
		return fmt.Errorf("a service binary is 20 MB or more")
	}
	return nil
}
