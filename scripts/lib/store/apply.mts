// Staging and atomic apply. Files arrive in a staging folder next to the memory folder (same filesystem, so
// renames are atomic), are checked there, and only then moved into place: transcripts and archives first,
// sessions.json after them, the provenance file last. Every file a rename replaces is kept (hard link) until
// the end, so a failure half-way puts the old files back: memory/ is either all old or all new.
import { link, mkdir, open, readdir, rename, rm, rmdir, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { Failure } from "../cli.mts";
import { alive } from "./lock.mts";

const STAGING_INFIX = ".staging-";

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

/** Removes staging folders left by runs that were killed (called while holding the lock). */
export async function removeStaleStaging(memoryDir: string): Promise<number> {
  let removed = 0;
  for (const base of [dirname(memoryDir), memoryDir]) {
    const names = await readdir(base).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.startsWith(stagingPrefix(memoryDir))) continue;
      const pid = Number(/-(\d+)-[0-9a-f]+$/.exec(name)?.[1]);
      // Our own, or a dry run's that is still going (dry runs take no lock).
      if (pid === process.pid || alive(pid)) continue;
      await rm(join(base, name), { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}

export interface StagedChange {
  /** Path relative to the memory folder, e.g. `sessions/<id>.jsonl` or `sync-provenance.json`. */
  target: string;
  /** The staged file to move there. */
  staged: string;
}

async function fsyncPath(path: string, flags = "r"): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } catch {
    // some filesystems do not support fsync on folders
  } finally {
    await handle.close();
  }
}

/**
 * Moves the staged files into `memoryDir`, in the order given. On any error, undoes what was done and throws a
 * Failure; memoryDir is then as it was before.
 */
export async function applyStaged(
  memoryDir: string,
  stagingDir: string,
  changes: StagedChange[],
): Promise<void> {
  const previous = join(stagingDir, ".previous");
  const done: { target: string; kept?: string }[] = [];
  const createdDirs: string[] = [];
  try {
    await mkdir(previous, { recursive: true });
    for (const change of changes) await fsyncPath(change.staged);
    for (const [i, change] of changes.entries()) {
      const target = join(memoryDir, change.target);
      for (const dir of [memoryDir, dirname(target)]) {
        if ((await deviceOf(dir)) === undefined) {
          await mkdir(dir, { recursive: true });
          createdDirs.push(dir);
        }
      }
      let kept: string | undefined;
      const existing = await stat(target).catch(() => undefined);
      if (existing) {
        kept = join(previous, String(i));
        await link(target, kept);
      }
      await rename(change.staged, target);
      done.push({ target, kept });
    }
    for (const dir of new Set(changes.map((c) => dirname(join(memoryDir, c.target))))) await fsyncPath(dir);
  } catch (error) {
    const problems: string[] = [];
    for (const step of done.reverse()) {
      try {
        if (step.kept) await rename(step.kept, step.target);
        else await unlink(step.target);
      } catch (undoError) {
        problems.push(`${step.target}: ${(undoError as Error).message}`);
      }
    }
    for (const dir of createdDirs.reverse()) await rmdir(dir).catch(() => {});
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOSPC" ? "the disk is full" : (error as Error).message;
    if (problems.length) {
      throw new Failure(
        `writing into ${memoryDir} failed (${reason}) and ${problems.length} file(s) could not be put back; restore them from git ('git checkout -- ${memoryDir}')`,
        1,
        problems.join("\n"),
      );
    }
    throw new Failure(`writing into ${memoryDir} failed (${reason}); it was left as it was before the sync`);
  }
}
