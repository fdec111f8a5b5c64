package provisioning

import "syscall"

// Magic numbers of file systems without Unix permissions (statfs(2)):
// there every file reads as 0755 or so, and a "world-readable" bundle on
// the boot partition is normal, not a mistake.
const (
	msdosMagic = 0x4d44     // vfat, msdos
	exfatMagic = 0x2011bab0 // exfat
)

// noPermissions reports whether path is on a FAT-like file system.
func noPermissions(path string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return false
	}
	switch uint64(st.Type) {
	case msdosMagic, exfatMagic:
		return true
	}
	return false
}
