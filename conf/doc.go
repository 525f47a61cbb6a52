// Package conf reads and validates ferry's three configuration files, which
// keep the syntax and the keys of Alibaba Cloud's ossimport so that an
// ossimport installation's files work unchanged:
//
//   - job.cfg: one migration job (what to copy, from where, to where);
//   - sys.properties: how this installation runs (working directory, threads,
//     SSH credentials for workers, ferry's master address and leases);
//   - workers: one worker host a line; no host means standalone mode.
//
// job.cfg and sys.properties are key=value files (see ParseJob for the exact
// syntax). Every key that any ossimport 2.x release knew is accepted. The
// ones ferry does not act on yet are kept and produce a warning in the
// returned struct (Job.Warnings, Sys.Warnings) when they are set to anything
// other than ossimport's default, so an unedited ossimport file is quiet and
// a setting that matters is never silently dropped. A key no version of
// ossimport or ferry knows is an error naming the nearest known key.
//
// Every error is a *Error naming the file, the line and the key, and is one
// line long. Parsing stops at the first error. Secrets (access keys'
// secrets, passwords) are held as Secret, which prints as "******", and no
// message ever quotes them.
//
// Parsing does not touch the file system. Paths are made absolute, and the
// checks that need absolute paths are run, by Job.Resolve and Sys.Resolve.
package conf
