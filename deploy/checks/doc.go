// Package checks holds the offline checks of Chirper's deployment files
// (Dockerfiles, docker compose) as tests. It is a module of its own so that
// their heavy parsers stay out of the application's go.mod.
package checks
