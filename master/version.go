package master

// Version is ferry's version, set at build time with
// -ldflags "-X ferry/master.Version=...".
var Version = "0.1.0-dev"
