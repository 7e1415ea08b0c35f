// Command users is the users service of Chirper: it serves the
// users endpoint group of the API on PostgreSQL, and nothing else.
package main

import (
	"github.com/chirper/chirper/pkg/httpapi"
	"github.com/chirper/chirper/pkg/server"
)

func main() {
	server.Main(server.Binary{Name: "users", Groups: []string{httpapi.GroupUsers}})
}
