// Package sandbox runs a user's code — typically Python written by an AI
// assistant — over that user's workspace files, isolated from the host, the
// network and every other user, within limits, with one audit event per run.
//
// # Use
//
// Most users want [New] with a [Bubblewrap] engine and [Sandbox.Run]:
//
//	sb := sandbox.New(&sandbox.Bubblewrap{}, &sandbox.Options{Auditor: auditLog})
//	if err := sb.Check(ctx); err != nil { ... } // at startup: ErrUnavailable says why
//	res, err := sb.Run(ctx, ws, sandbox.Spec{
//		Code:    []byte(pythonFromTheAssistant),
//		Inputs:  []string{"sales.csv"},   // appear as /work/in/sales.csv
//		Outputs: []string{"*.png", "summary.txt"}, // from /work/out, written back
//	})
//
// ws is anything that satisfies [Files]; *workspace.Workspace does. Inputs
// are read through its decrypting Open and outputs written through its
// encrypting, atomic Create. [Result] gives the exit status (or signal),
// stdout and stderr (capped), the resource use, the collected outputs and
// [Result.LimitHit].
//
// # What a run sees
//
// The [Bubblewrap] engine gives each run a root of its own: the host's
// /usr read-only (with the /bin, /lib, /lib64 links), a fresh /proc showing
// only the run's processes, a minimal read-only /dev, and a private tmpfs
// at [ScratchDir] of [Limits.Scratch] bytes holding the inputs
// ([InputDir]), the code ([CodePath]), a temporary directory ([TempDir])
// and the outputs ([OutputDir]). There is no /etc, no home, no other
// workspace and no privkit store; no network interface but its own
// loopback; uid and gid 65534, no capabilities, no way to gain privileges,
// no terminal; a short list of risky system calls fails (see [Bubblewrap]).
// The environment is [Spec.Env] or [DefaultEnv], never the host's.
//
// Plaintext stays in memory: inputs are streamed into the tmpfs through
// pipes and outputs streamed out as a tar over a pipe, so decrypted data is
// never written to a file on the host. (A tmpfs can be swapped out: run on
// hosts without swap, or with encrypted swap.)
//
// # Limits
//
// [Limits] bound wall-clock time, CPU time, address space, processes, open
// files, scratch size and output bytes. The timeout and the output caps
// kill every process of the run; the CPU limit signals the process; the
// others make the offending system call fail, and [Result.LimitHit] is then
// inferred from the exit status and the end of stderr (MemoryError, "Too
// many open files", ...). A run that stops at a limit is a [Result], not an
// error.
//
// # Audit
//
// Each Run records one event (action "sandbox.run") with the user's
// pseudonym, the SHA-256 of the code and argv ([CodeHash]), the duration,
// the exit status, the signal, the limit hit and the numbers of inputs and
// outputs. Never the code's text, file names, inputs or outputs.
//
// # Non-goals
//
// The package does not install Python packages or give network access, does
// not keep state between runs (each run starts from an empty scratch area),
// and is not a defence against kernel exploits: bubblewrap reduces the
// kernel's attack surface but shares the host kernel. For untrusted code at
// fleet scale, write an [Engine] on gVisor or a microVM. Memory is bounded
// per process (RLIMIT_AS), not per run; a cgroup-based engine can do better.
package sandbox
