package task

// Version is ferry's version, set at build time with
// -ldflags "-X ferry/task.Version=...".
var Version = "0.1.0-dev"
