// Package chirper is the domain of Chirper: users, chirps and refresh-token
// families, the rules that make them valid, the errors the rest of the code
// reports, and the store interfaces every storage adapter implements.
//
// It imports only the standard library: no SQL, no HTTP.
package chirper
