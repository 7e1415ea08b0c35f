// Command list-chirps is the list-chirps service of Chirper: it serves the
// list-chirps endpoint group of the API on PostgreSQL, and nothing else.
package main

import (
	"github.com/chirper/chirper/pkg/httpapi"
	"github.com/chirper/chirper/pkg/server"
)

func main() {
	server.Main(server.Binary{Name: "list-chirps", Groups: []string{httpapi.GroupListChirps}})
}
