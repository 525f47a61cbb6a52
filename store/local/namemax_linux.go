package local

import "golang.org/x/sys/unix"

// rootNameMax returns the longest file name the file system of root takes
// (statfs's f_namelen), or defaultNameMax when it cannot be asked.
func rootNameMax(root string) int {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil || st.Namelen <= 0 {
		return defaultNameMax
	}
	return int(st.Namelen)
}
