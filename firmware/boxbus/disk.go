package boxbus

// Properties of the box's media disk (read-only, each change announced with
// PropertiesChanged; the daemon looks at the disk every few seconds).
const (
	PropDiskBytes     = "DiskBytes"     // x: the media disk's size in bytes
	PropDiskFreeBytes = "DiskFreeBytes" // x: what can still be written on it; 0 when it is not ok
	PropDiskState     = "DiskState"     // s: DiskOK, DiskMissing or DiskFailing
	PropDiskReason    = "DiskReason"    // s: what was seen when the state is not ok, in a sentence; "" when ok
)

// The disk's states (PropDiskState).
const (
	DiskOK      = "ok"      // the media store is mounted and answers
	DiskMissing = "missing" // the hard disk is gone: the box runs on what it has
	DiskFailing = "failing" // I/O errors, or its file system went read-only
)
