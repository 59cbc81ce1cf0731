// Git is the safety net: sync and prune only overwrite what a commit holds. This module owns reading
// `git status` (one parser, renames included) and the question "what is not committed under this folder".
import { existsSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { Failure } from "../cli.mts";
import { runProcess } from "../proc.mts";

async function git(
  cwd: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const result = await runProcess(["git", ...args], { cwd });
  if (result.spawnError) return { code: null, stdout: "", stderr: "" };
  return { code: result.code, stdout: result.stdout, stderr: result.stderr };
}

/** Git ran but could not answer (e.g. "dubious ownership"): the guard must not be skipped silently. */
function gitFailed(what: string, stderr: string): never {
  const reason = stderr.trim().split("\n")[0] || "no error text";
  throw new Failure(
    `git could not tell whether ${what} has uncommitted changes (${reason}); fix that, or pass --force`,
  );
}

/** The nearest existing folder at or above `path`. */
function existingAncestor(path: string): string {
  let dir = resolve(path);
  while (!existsSync(dir)) {
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return dir;
}

/** The work tree holding `path`, or undefined when it is not in one (or git is not installed). */
export async function workTreeOf(path: string): Promise<string | undefined> {
  const result = await git(existingAncestor(path), ["rev-parse", "--show-toplevel"]);
  if (result.code === 0) return result.stdout.trim();
  if (result.code === null || /not a git repository/i.test(result.stderr)) return undefined;
  gitFailed(path, result.stderr);
}

/**
 * Uncommitted changes under `dir` (modified, staged, deleted, type-changed or untracked-but-not-ignored files),
 * as paths relative to the work tree; undefined when `dir` is not inside a git work tree or git is not
 * installed. Any other git failure is a Failure: the guard is never skipped silently. `except`: names relative to
 * `dir` that do not count (settings the writer only reads).
 */
export async function uncommittedChanges(
  dir: string,
  except: readonly string[] = [],
): Promise<string[] | undefined> {
  const top = await workTreeOf(dir);
  if (!top) return undefined;
  const rel = relative(top, resolve(dir)) || ".";
  const result = await git(top, ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--", rel]);
  if (result.code !== 0) gitFailed(dir, result.stderr);
  const skip = new Set(except.map((name) => (rel === "." ? name : `${rel}/${name}`)));
  return parseStatus(result.stdout)
    .map((entry) => entry.path)
    .filter((path) => !skip.has(path));
}

/** One line of `git status --porcelain=v1 -z`. */
export interface StatusEntry {
  /** The two status letters (`XY`): index and work tree, `??` untracked, `!!` ignored. */
  code: string;
  /** The path relative to the work tree's top (for a rename or copy: the new path). */
  path: string;
  /** A rename's or copy's source path. */
  from?: string;
}

/** Parses `git status --porcelain=v1 -z`: `XY path\0`, and for a rename or copy `XY new\0old\0`. */
export function parseStatus(output: string): StatusEntry[] {
  const items = output.split("\0");
  const entries: StatusEntry[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item.length < 4 || item[2] !== " ") continue;
    const entry: StatusEntry = { code: item.slice(0, 2), path: item.slice(3) };
    if (item[0] === "R" || item[0] === "C") entry.from = items[++i] ?? "";
    entries.push(entry);
  }
  return entries;
}

/**
 * Git's blob id of each file directly in `dir` whose work-tree copy is exactly the one in git's index, decided by
 * git's own stat cache (a file is read only when its stat is ambiguous); undefined when `dir` is not in a work
 * tree. A file whose recorded blob id is listed here is intact without being read (sync's quick check).
 */
export async function cleanBlobs(dir: string): Promise<Map<string, string> | undefined> {
  const run = (args: string[]) => runProcess(["git", ...args], { cwd: dir });
  const listed = await run(["ls-files", "-s", "-z", "--", "."]);
  if (listed.code !== 0) return undefined;
  // Brings the index's stat cache up to date first, as `git status` does (a failure, e.g. a held index.lock,
  // only means more files look changed and are read).
  await run(["update-index", "-q", "--refresh"]);
  const dirty = await run(["diff-files", "--name-only", "-z", "--relative", "--", "."]);
  if (dirty.code !== 0) return undefined;
  const changed = new Set(dirty.stdout.split("\0").filter(Boolean));
  const blobs = new Map<string, string>();
  for (const record of listed.stdout.split("\0")) {
    const tab = record.indexOf("\t");
    if (tab < 0) continue;
    const [mode, blob, stage] = record.slice(0, tab).split(" ");
    const path = record.slice(tab + 1);
    if (mode !== "100644" && mode !== "100755") continue;
    if (stage !== "0" || path.includes("/") || changed.has(path)) continue;
    blobs.set(path, blob);
  }
  return blobs;
}
