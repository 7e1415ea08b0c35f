// Command stream is the stream service of Chirper: it serves the
// stream endpoint group of the API on PostgreSQL, and nothing else.
package main

import (
	"github.com/chirper/chirper/pkg/httpapi"
	"github.com/chirper/chirper/pkg/server"
)

func main() {
	server.Main(server.Binary{Name: "stream", Groups: []string{httpapi.GroupStream}})
}
