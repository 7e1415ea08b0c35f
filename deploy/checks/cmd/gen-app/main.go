// Command gen-app writes deploy/cloudformation/app.yaml from the routing
// table (pkg/httpapi/routes.go) and app.yaml.tmpl: one listener rule per
// route, one set of resources per service. A test fails while the committed
// file differs from what this writes.
//
//	go run ./cmd/gen-app -o ../cloudformation/app.yaml   (make cfn-generate)
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/chirper/chirper/deploy/checks"
)

func main() {
	out := flag.String("o", "../cloudformation/app.yaml", "the file to write")
	flag.Parse()
	b, err := checks.AppTemplate()
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen-app:", err)
		os.Exit(1)
	}
}
