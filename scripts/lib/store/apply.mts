// The one transactional apply that every writer of the memory folder uses (sync, prune, restore).
//
// Files are prepared in a staging folder next to the memory folder (same filesystem, so renames are atomic),
// checked there, and only then moved into place by applyStaged(), as one journaled transaction:
//
//   1. every staged file is fsynced; every file the transaction replaces or removes gets a hard link in
//      `<staging>/.previous/` (fsynced, and the folder too): the old bytes stay reachable until the end (a copy
//      where the filesystem has no hard links: FAT, exFAT);
//   2. the journal (`<staging>/journal.json`: every intended change, its backup, the folders it creates) is
//      written to a temporary, fsynced, renamed into place, and the staging folder fsynced: before the first
//      rename into memory/ the whole intent is on disk;
//   3. the renames (and removals) into memory/, in the order given; then every touched folder is fsynced;
//   4. the commit point: an empty `<staging>/committed` file, fsynced with its folder; 5. the backups go.
//
// A failure inside the process rolls back at once. A process that dies (SIGKILL, OOM, power cut) leaves its
// staging folder; the next sync, prune or verify calls recoverInterrupted() under the lock, before anything
// else: a transaction without its journal never touched memory/ (its staging folder is removed); one with a
// journal but no commit point is rolled back (every backup renamed back, every new file removed); one past
// the commit point is completed (only the clean-up was left). Each is reported in one line.
// Recovery is idempotent: killed during a recovery, the next run recovers again.
import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { link, mkdir, open, readFile, readdir, rename, rm, rmdir, stat, unlink } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { Failure } from "../cli.mts";
import { faultPoint } from "./fault.mts";
import { acquireLock, alive, type Lock, type LockOptions } from "./lock.mts";
import { mapLimit } from "../parallel.mts";

const STAGING_INFIX = ".staging-";
export const JOURNAL_FILE = "journal.json";
const COMMITTED_FILE = "committed";
const PREVIOUS_DIR = ".previous";

function stagingPrefix(memoryDir: string): string {
  return `.${basename(memoryDir)}${STAGING_INFIX}`;
}

async function deviceOf(path: string): Promise<number | undefined> {
  return stat(path).then(
    (s) => s.dev,
    () => undefined,
  );
}

/** Creates an empty staging folder beside `memoryDir` (inside it when memoryDir is a mount point). */
export async function createStaging(memoryDir: string): Promise<string> {
  const parent = dirname(memoryDir);
  const memoryDev = await deviceOf(memoryDir);
  const parentDev = await deviceOf(parent);
  const base = memoryDev !== undefined && parentDev !== memoryDev ? memoryDir : parent;
  const dir = join(base, `${stagingPrefix(memoryDir)}${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (error) {
    throw new Failure(`cannot create a staging folder next to ${memoryDir}: ${(error as Error).message}`);
  }
  return dir;
}

/** A file moved into place: `staged` replaces (or creates) `<memory>/<target>`. */
export interface StagedChange {
  /** Path relative to the memory folder, e.g. `sessions/<id>.jsonl` or `sync-provenance.json`. */
  target: string;
  /** The staged file to move there. */
  staged: string;
}

/** A file taken out of the memory folder (prune). */
export interface Removal {
  target: string;
  remove: true;
}

export type Change = StagedChange | Removal;

interface JournalOp {
  target: string;
  /** Relative to the staging folder when inside it. */
  staged?: string;
  remove?: true;
  /** `.previous/<i>`: a hard link to the file this op replaces or removes. */
  backup?: string;
}

interface Journal {
  format: 1;
  kind: string;
  pid: number;
  host: string;
  startedAt: string;
  memoryDir: string;
  /** Folders (relative to the memory folder's parent) the transaction creates, outermost first. */
  createdDirs: string[];
  ops: JournalOp[];
}

/** A plain copy of a file's bytes into a new file (copyFile would also copy the mode: FAT cannot chmod). */
async function copyBytes(from: string, to: string): Promise<void> {
  await pipeline(createReadStream(from), createWriteStream(to, { flags: "wx" }));
}

/** What link() says on a filesystem that has no hard links. */
const NO_HARD_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"]);

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } catch (error) {
    // Some filesystems cannot fsync a folder; a file that cannot be fsynced is an error.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EINVAL" && code !== "EISDIR" && code !== "ENOTSUP" && code !== "EBADF") throw error;
  } finally {
    await handle.close();
  }
}

async function writeDurably(path: string, text: string, step: string): Promise<void> {
  const temp = `${path}.tmp`;
  const handle = await open(temp, "w", 0o600);
  try {
    // Two writes with a fault point between them: a kill half-way through writing the journal is tested.
    const half = Math.floor(text.length / 2);
    await handle.writeFile(text.slice(0, half));
    await faultPoint(`${step}: half written`);
    await handle.writeFile(text.slice(half));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await faultPoint(`${step}: written`);
  await rename(temp, path);
  await fsyncPath(dirname(path));
  await faultPoint(`${step}: in place`);
}

export interface ApplyOptions {
  /** Who writes, for the journal and the recovery line: "sync", "prune", "restore". */
  kind?: string;
  /** False only for the benchmark's baseline: plain renames, no journal, no fsync. */
  durable?: boolean;
}

/**
 * Applies `changes` to `memoryDir` as one transaction (see the file comment), in the order given. On any error
 * it rolls back and throws a Failure; memoryDir is then as it was before. The staging folder is left for the
 * caller to remove.
 */
export async function applyStaged(
  memoryDir: string,
  stagingDir: string,
  changes: Change[],
  options: ApplyOptions = {},
): Promise<void> {
  const durable = options.durable !== false;
  if (!durable) return applyPlain(memoryDir, changes);
  const journal: Journal = {
    format: 1,
    kind: options.kind ?? "sync",
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    memoryDir,
    createdDirs: [],
    ops: [],
  };
  const parent = dirname(memoryDir);
  let journaled = false;
  try {
    // 1. Staged bytes on disk; old files kept by hard links.
    const previous = join(stagingDir, PREVIOUS_DIR);
    await mkdir(previous, { recursive: true });
    // fsyncs run several at a time: the filesystem commits concurrent ones together.
    await eachLimit(changes, async (change) => {
      if ("staged" in change) await fsyncPath(change.staged);
    });
    await faultPoint("staged files fsynced");
    const missingDirs = new Set<string>();
    for (const change of changes) {
      const target = join(memoryDir, change.target);
      for (let dir = dirname(target); dir !== parent && dir.startsWith(memoryDir); dir = dirname(dir)) {
        if (missingDirs.has(dir) || (await deviceOf(dir)) !== undefined) break;
        missingDirs.add(dir);
      }
    }
    const ops = await mapLimit(
      changes.map((change, i) => ({ change, i })),
      PARALLEL,
      async ({ change, i }) => {
        const target = join(memoryDir, change.target);
        const op: JournalOp = { target: change.target };
        if ("staged" in change) op.staged = relativeIn(stagingDir, change.staged);
        else op.remove = true;
        const existing = await stat(target).catch(() => undefined);
        if (existing) {
          op.backup = join(PREVIOUS_DIR, String(i));
          const backup = join(stagingDir, op.backup);
          try {
            await link(target, backup);
            if (existing.isFile()) await fsyncPath(target);
          } catch (error) {
            // A filesystem without hard links (FAT, exFAT: a clone on a USB stick or SD card) keeps a copy.
            if (!existing.isFile() || !NO_HARD_LINKS.has((error as NodeJS.ErrnoException).code ?? ""))
              throw error;
            await copyBytes(target, backup);
            await fsyncPath(backup);
          }
        } else if (op.remove) return undefined;
        return op;
      },
    );
    journal.ops = ops.filter((op): op is JournalOp => op !== undefined);
    journal.createdDirs = [...missingDirs].map((dir) => relative(parent, dir)).sort();
    await fsyncPath(previous);
    await faultPoint("backups linked");

    // 2. The journal, durable before the first rename.
    await writeDurably(join(stagingDir, JOURNAL_FILE), `${JSON.stringify(journal)}\n`, "journal");
    journaled = true;

    // 3. The renames and removals.
    for (const dir of journal.createdDirs) await mkdir(join(parent, dir)).catch(ignoreExists);
    for (const op of journal.ops) {
      const target = join(memoryDir, op.target);
      if (op.staged) await rename(resolve(stagingDir, op.staged), target);
      else await unlink(target);
      await faultPoint(`${op.remove ? "removed" : "renamed into"} ${op.target}`);
    }
    await eachLimit(touchedDirs(memoryDir, journal), fsyncPath);
    await faultPoint("folders fsynced");

    // 4. The commit point, 5. clean-up.
    await writeDurably(join(stagingDir, COMMITTED_FILE), "", "commit point");
  } catch (error) {
    const problems: string[] = [];
    if (journaled) problems.push(...(await rollBack(stagingDir, journal)));
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOSPC" ? "the disk is full" : (error as Error).message;
    if (problems.length) {
      throw new Failure(
        `writing into ${memoryDir} failed (${reason}) and ${problems.length} file(s) could not be put back; restore them from git ('git checkout -- ${memoryDir}')`,
        1,
        problems.join("\n"),
      );
    }
    throw new Failure(
      `writing into ${memoryDir} failed (${reason}); it was left as it was before the ${journal.kind}`,
    );
  }
  await finish(stagingDir);
}

const PARALLEL = 16;

async function eachLimit<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  await mapLimit(items, PARALLEL, fn);
}

function ignoreExists(error: NodeJS.ErrnoException): void {
  if (error.code !== "EEXIST") throw error;
}

function relativeIn(dir: string, path: string): string {
  const rel = relative(dir, path);
  return rel.startsWith("..") || isAbsolute(rel) ? resolve(path) : rel;
}

function touchedDirs(memoryDir: string, journal: Journal): string[] {
  const dirs = new Set<string>();
  for (const op of journal.ops) dirs.add(dirname(join(memoryDir, op.target)));
  for (const dir of journal.createdDirs) dirs.add(dirname(join(dirname(memoryDir), dir)));
  return [...dirs];
}

/** After the commit point: the journal goes first (a staging folder without one is only debris). */
async function finish(stagingDir: string): Promise<void> {
  await unlink(join(stagingDir, JOURNAL_FILE)).catch(() => {});
  await faultPoint("journal removed");
  await rm(join(stagingDir, PREVIOUS_DIR), { recursive: true, force: true });
  await rm(join(stagingDir, COMMITTED_FILE), { force: true });
}

/** Puts every backup back and removes every file the transaction created. Returns what could not be undone. */
async function rollBack(stagingDir: string, journal: Journal): Promise<string[]> {
  const problems: string[] = [];
  const memoryDir = journal.memoryDir;
  for (const op of [...journal.ops].reverse()) {
    const target = join(memoryDir, op.target);
    try {
      if (op.backup) {
        const backup = join(stagingDir, op.backup);
        if (await stat(backup).catch(() => undefined)) {
          await mkdir(dirname(target), { recursive: true });
          await rename(backup, target);
        }
      } else if (op.staged && !(await stat(resolve(stagingDir, op.staged)).catch(() => undefined))) {
        // The staged file was moved into place: the target is the transaction's, and it had none before.
        await unlink(target).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== "ENOENT") throw error;
        });
      }
    } catch (error) {
      problems.push(`${target}: ${(error as Error).message}`);
    }
  }
  const parent = dirname(memoryDir);
  for (const dir of [...journal.createdDirs].reverse()) await rmdir(join(parent, dir)).catch(() => {});
  for (const dir of touchedDirs(memoryDir, journal)) await fsyncPath(dir).catch(() => {});
  if (!problems.length) {
    await unlink(join(stagingDir, JOURNAL_FILE)).catch(() => {});
    await fsyncPath(stagingDir).catch(() => {});
  }
  return problems;
}

/** Plain renames without journal or fsync: the benchmark's baseline. */
async function applyPlain(memoryDir: string, changes: Change[]): Promise<void> {
  for (const change of changes) {
    const target = join(memoryDir, change.target);
    await mkdir(dirname(target), { recursive: true });
    if ("staged" in change) await rename(change.staged, target);
    else await unlink(target);
  }
}

interface Leftover {
  dir: string;
  pid: number;
  journal?: Journal;
}

async function findLeftovers(memoryDir: string, own?: string): Promise<Leftover[]> {
  const found: Leftover[] = [];
  for (const base of [dirname(memoryDir), memoryDir]) {
    const names = await readdir(base).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.startsWith(stagingPrefix(memoryDir))) continue;
      const dir = join(base, name);
      if (own && resolve(dir) === resolve(own)) continue;
      const pid = Number(/-(\d+)-[0-9a-f]+$/.exec(name)?.[1]);
      let journal: Journal | undefined;
      try {
        journal = JSON.parse(await readFile(join(dir, JOURNAL_FILE), "utf8")) as Journal;
      } catch {
        journal = undefined;
      }
      found.push({ dir, pid, journal });
    }
  }
  return found;
}

/** Whether a staging folder may belong to a run that is still going (a dry run takes no lock). */
function mayBeRunning(leftover: Leftover): boolean {
  if (leftover.journal) return false; // only a lock holder writes a journal, and we hold the lock
  return leftover.pid !== process.pid && alive(leftover.pid);
}

/**
 * Completes or rolls back the interrupted transactions of runs that are gone and removes their staging
 * folders. Call it holding the lock, before anything else. Returns one line per transaction it dealt with.
 */
export async function recoverInterrupted(memoryDir: string): Promise<string[]> {
  const lines: string[] = [];
  const legacy = await recoverLegacyPrune(memoryDir);
  if (legacy) lines.push(legacy);
  for (const leftover of await findLeftovers(memoryDir)) {
    if (mayBeRunning(leftover)) continue;
    const { journal, dir } = leftover;
    if (!journal) {
      await rm(dir, { recursive: true, force: true });
      continue;
    }
    const who = `${journal.kind} (pid ${journal.pid} on ${journal.host}, started ${journal.startedAt})`;
    const committed = await stat(join(dir, COMMITTED_FILE)).catch(() => undefined);
    if (committed) {
      await finish(dir);
      lines.push(
        `completed an interrupted ${who}: it had written all of ${memoryDir}, only its clean-up was left`,
      );
    } else {
      const problems = await rollBack(dir, { ...journal, memoryDir });
      if (problems.length) {
        throw new Failure(
          `an interrupted ${who} could not be rolled back (${problems.length} file(s) could not be put back); restore ${memoryDir} from git ('git checkout -- ${memoryDir}') and remove ${dir}`,
          1,
          problems.join("\n"),
        );
      }
      lines.push(
        `rolled back an interrupted ${who}: ${memoryDir} is as it was before it (${journal.ops.length} change(s) undone or never made)`,
      );
    }
    await faultPoint("recovered");
    await rm(dir, { recursive: true, force: true });
  }
  return lines;
}

const LEGACY_PRUNE_STAGING = /^\.prune-staging\.(\d+\.[0-9a-f-]{36})$/;
// Only these two temporaries are unmistakably the old prune's: `sessions/sessions.json.<pid>.<uuid>.tmp` looks
// like OpenClaw's own atomic-write temporary and is removed only next to one of these with the same tag.
const LEGACY_TEMP = /^(?:pruned\.jsonl|sync-provenance\.json)\.(\d+\.[0-9a-f-]{36})\.tmp$/;

const tagPid = (tag: string) => Number(tag.split(".")[0]);

/** The tags (`<pid>.<uuid>`) of what a killed prune of an earlier version left in memoryDir. */
async function legacyTags(memoryDir: string): Promise<Set<string>> {
  const tags = new Set<string>();
  for (const name of await readdir(memoryDir).catch(() => [] as string[])) {
    const tag = (LEGACY_PRUNE_STAGING.exec(name) ?? LEGACY_TEMP.exec(name))?.[1];
    if (tag && !alive(tagPid(tag))) tags.add(tag);
  }
  return tags;
}

/**
 * What a prune of an earlier version (before the journal) left when it was killed: its staging folder inside
 * memory/ (the pruned files, moved there) and its `*.<pid>.<uuid>.tmp` files. The files go back to sessions/
 * (git has them too), the temporaries go. Returns one line, or nothing when there was nothing.
 */
async function recoverLegacyPrune(memoryDir: string): Promise<string | undefined> {
  const tags = await legacyTags(memoryDir);
  if (!tags.size) return undefined;
  let movedBack = 0;
  let removed = 0;
  const sessionsDir = join(memoryDir, "sessions");
  for (const tag of tags) {
    const dir = join(memoryDir, `.prune-staging.${tag}`);
    for (const file of await readdir(dir).catch(() => [] as string[])) {
      const target = join(sessionsDir, file);
      if (await stat(target).catch(() => undefined)) continue;
      await rename(join(dir, file), target);
      movedBack++;
    }
    await rm(dir, { recursive: true, force: true });
    for (const temp of [
      join(memoryDir, `pruned.jsonl.${tag}.tmp`),
      join(memoryDir, `sync-provenance.json.${tag}.tmp`),
      join(sessionsDir, `sessions.json.${tag}.tmp`),
    ]) {
      if (await stat(temp).catch(() => undefined)) {
        await rm(temp, { force: true });
        removed++;
      }
    }
  }
  const pids = [...new Set([...tags].map(tagPid))];
  return `cleaned up after an interrupted prune of an earlier version (pid ${pids.join(", ")}): moved ${movedBack} file(s) back into ${sessionsDir}, removed ${removed} temporary file(s); check 'git status' before committing`;
}

/** Whether a run that is gone left a transaction or staging debris behind (cheap: no lock needed). */
export async function hasInterrupted(memoryDir: string): Promise<boolean> {
  if ((await findLeftovers(memoryDir)).some((leftover) => !mayBeRunning(leftover))) return true;
  return (await legacyTags(memoryDir)).size > 0;
}

export interface WriterOpened {
  lock: Lock;
  /** One line each: a lock taken over or broken, a transaction completed or rolled back. */
  notes: string[];
}

/**
 * The start of every writing run: takes the lock, then completes or rolls back what an interrupted run left.
 * Nothing else may happen before this.
 */
export async function openForWriting(
  memoryDir: string,
  command: string,
  options: LockOptions = {},
): Promise<WriterOpened> {
  const { lock, tookOver, broken } = await acquireLock(memoryDir, command, options);
  const notes: string[] = [];
  if (broken)
    notes.push(
      broken === "unreadable"
        ? "removed an unreadable lock (--break-lock)"
        : `removed the lock of ${broken.command} pid ${broken.pid} on ${broken.host}, started ${broken.startedAt} (--break-lock)`,
    );
  if (tookOver)
    notes.push(
      tookOver.pid
        ? `took over a stale lock of pid ${tookOver.pid} on ${tookOver.host} (${tookOver.command}, started ${tookOver.startedAt})`
        : "took over a stale lock that could not be read",
    );
  try {
    notes.push(...(await recoverInterrupted(memoryDir)));
  } catch (error) {
    await lock.release();
    throw error;
  }
  return { lock, notes };
}

/**
 * For runs that do not write (verify, dry runs): when a run that is gone left a transaction, takes the lock
 * just long enough to complete or roll it back. Returns the lines to report.
 */
export async function recoverBeforeReading(memoryDir: string, command: string): Promise<string[]> {
  if (!(await hasInterrupted(memoryDir))) return [];
  const { lock, notes } = await openForWriting(memoryDir, command);
  await lock.release();
  return notes;
}
