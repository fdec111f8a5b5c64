//go:build !linux

package provisioning

// noPermissions: elsewhere (a developer's machine) every file system is
// taken to have real permissions.
func noPermissions(string) bool { return false }
