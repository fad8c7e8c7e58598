// Package workspace keeps users' uploaded files in per-user temporary
// workspaces that are isolated, encrypted at rest and deleted on time.
//
// A [Manager] owns a root directory. [Manager.Open] returns a user's
// [Workspace], creating it if absent; its methods create (streamed from an
// io.Reader), open, stat, list, rename and remove files, import a zip
// archive, and give a read-only [fs.FS] view:
//
//	m, err := workspace.New(ctx, "/var/lib/svc/workspaces", keyring, store, &workspace.Options{
//		PlanResolver: func(ctx context.Context, user string) (string, error) { return plans.Of(ctx, user) },
//	})
//	defer m.Close()
//	ws, err := m.Open(ctx, userPseudonym)
//	_, err = ws.Create(ctx, "sales.csv", r)
//	rc, err := ws.Open(ctx, "sales.csv")
//
// # Plans and expiry
//
// Each user is on a [Plan], named by Options.PlanResolver. The defaults
// ([DefaultPlans]) follow the privacy policy: "free" deletes a workspace
// after 1 hour without activity and every file 1 hour after its upload;
// "paid" allows 7 days of inactivity and keeps every file at most 7 days, a
// hard cap that activity never extends. The plan is resolved at every
// check, so after a downgrade the stricter rule applies at the next one.
//
// Expiry is enforced twice: on access (an operation on an expired
// workspace deletes it and returns [ErrExpired]; expired files are deleted
// before an operation sees them) and by the janitor goroutine the Manager
// runs ([Manager.Sweep] is one pass; [Manager.Close] stops it). Activity is
// tracked in memory and persisted at most every Options.ActivityInterval.
// [Options.OnEvent] receives a warning before a workspace expires, its
// expiry and its deletion; each deletion is also an audit event.
//
// Deletion shreds the workspace's key (its data source "workspace/<ID>" in
// the [Cipher]), so every ciphertext is unreadable at once, then moves the
// directory to root/trash, removes it and syncs. Every step is idempotent
// and the record is marked first, so [New] on the same root and store
// finishes deletions a crash interrupted, removes directories no record
// claims, and deletes what expired while no process ran.
//
// # Isolation and encryption at rest
//
// Every path is resolved inside the workspace directory through [os.Root].
// File names never reach the disk: each file is stored under a random ID as
// the ciphertext of the [Cipher]'s streaming AEAD, with the file ID bound as
// associated data; the plaintext starts with a small header holding the
// file's name and upload time. The encrypted manifest in the same directory
// lists names, sizes and upload times. The metadata [Store] holds only the
// user's pseudonym, opaque IDs and times. Names are checked and
// NFC-normalised by [ValidName]. privkit never creates symlinks or hard
// links and refuses to read a file that is one ([ErrUnsafeFile]); anything
// planted in a workspace directory is removed when the workspace loads.
//
// Writes are atomic. An upload streams into a new data file under a fresh
// ID; the file and the directory are synced before [Workspace.Create]
// returns, and only then is the file visible by its name. Readers never see
// half a file; concurrent writers of one name each succeed and the last to
// commit wins. A write that would exceed the plan's quota fails as soon as
// the stream crosses it ([ErrQuota]) and leaves nothing behind.
//
// Renames, removals, expiry and archive imports rewrite the manifest
// (temporary file, sync, rename, directory sync) before they return.
// Uploads rewrite it lazily — when the workspace is next renamed into,
// removed from, parked or closed — because each data file describes
// itself: after a crash, the next load adopts uploads the manifest lacks
// once their whole ciphertext authenticates, drops entries whose data file
// is gone, and removes what a crash left half-written. The old ciphertext of
// a file replaced by a new upload (still under the live workspace key) is
// unlinked at once and made durable by the next directory sync.
//
// # Concurrency and resources
//
// [Manager] and [Workspace] are safe for concurrent use. Run one Manager per
// root directory. A loaded workspace keeps its decrypted manifest in memory;
// the janitor closes the directory handle of a workspace idle for two
// activity intervals, so idle workspaces hold no file descriptor.
//
// # Fleets
//
// Several instances may share one PostgreSQL store (workspacesql). Each
// runs with its own Options.Node and keeps workspaces on its own disk; a
// workspace's record names its node, and a manager deletes directories of
// its own node only (its janitor lists only its node's records).
//
// A fleet therefore routes with sticky sessions keyed by the user's
// pseudonym: the front door (gateway or load balancer) asks any instance's
// [Manager.Locate], or reads the record, and sends the user's requests to
// the node it names; a user without a workspace may go to any node (for
// example by consistent hashing of the pseudonym), which then owns it. An
// instance that receives a user it does not hold answers [Manager.Open]
// with a [*WrongNodeError] naming the right node, so a misrouted request
// is redirected, never served from an empty workspace.
//
// If a node is lost, its users' workspaces are taken over (their keys
// shredded, their records dropped, a new empty workspace created) by the
// node a user is next routed to, once the workspace is idle past its TTL;
// [Manager.Delete] does it at once from any node. A node that comes back
// removes the directories no record of its own claims at [New].
//
// # Non-goals
//
// Workspaces are temporary scratch space, not durable storage: there are
// no backups, versions or sharing between users, and no directories (names
// are flat). Content on disk is protected by encryption, not by hiding
// sizes: a ciphertext's length reveals its plaintext's approximate size.
// Encryption authenticates each file but cannot stop a rollback: someone
// who can write the workspace directory and kept an old copy of its files
// can put them back until the workspace is deleted (the key shredded);
// protect the directory as the host's own data.
package workspace
