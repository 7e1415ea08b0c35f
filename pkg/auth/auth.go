// Package auth hashes passwords (bcrypt), signs and verifies access tokens
// (JWT with Ed25519), and issues and rotates refresh tokens through a
// chirper.RefreshTokenStore.
package auth
