// Command get-chirp is the get-chirp service of Chirper: it serves the
// get-chirp endpoint group of the API on PostgreSQL, and nothing else.
package main

import (
	"github.com/chirper/chirper/pkg/httpapi"
	"github.com/chirper/chirper/pkg/server"
)

func main() {
	server.Main(server.Binary{Name: "get-chirp", Groups: []string{httpapi.GroupGetChirp}})
}
