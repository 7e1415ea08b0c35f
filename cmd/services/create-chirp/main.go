// Command create-chirp is the create-chirp service of Chirper: it serves the
// create-chirp endpoint group of the API on PostgreSQL, and nothing else.
package main

import (
	"github.com/chirper/chirper/pkg/httpapi"
	"github.com/chirper/chirper/pkg/server"
)

func main() {
	server.Main(server.Binary{Name: "create-chirp", Groups: []string{httpapi.GroupCreateChirp}})
}
