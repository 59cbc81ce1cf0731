// Stage 4, open the memory folder: git is the safety net (refuse to overwrite what no commit holds), one run at
// a time (the lock), and a staging folder next to memory/ that every later stage writes into.
import { rm, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { Failure, type Reporter } from "../cli.mts";
import { createStaging, removeStaleStaging } from "../store/apply.mts";
import { uncommittedChanges } from "../store/git.mts";
import { acquireLock } from "../store/lock.mts";

export interface OpenMemory {
  /** The staging folder (inside memory/'s parent); removed by close(). */
  stagingDir: string;
  /** Removes the staging folder and releases the lock. */
  close(): Promise<void>;
}

export async function openMemory(
  memoryDir: string,
  options: { memory: string; dryRun: boolean; force: boolean; reporter: Reporter },
): Promise<OpenMemory> {
  if (!options.dryRun && !options.force) {
    const dirty = uncommittedChanges(memoryDir);
    if (dirty && dirty.length) {
      throw new Failure(
        `${options.memory} has uncommitted changes (${dirty.slice(0, 3).join(", ")}${dirty.length > 3 ? `, and ${dirty.length - 3} more` : ""}); commit or stash them first so every byte sync overwrites stays in git, or pass --force`,
      );
    }
  }
  const memoryParent = resolve(memoryDir, "..");
  if (!(await stat(memoryParent).catch(() => undefined))) {
    throw new Failure(
      `the folder that should hold ${options.memory} (${memoryParent}) does not exist; create it first`,
    );
  }
  const lock = options.dryRun ? undefined : await acquireLock(memoryDir, "sync-memory");
  if (lock?.tookOver)
    options.reporter.info(`took over a stale lock of pid ${lock.tookOver.pid} (${lock.tookOver.startedAt})`);
  let stagingDir: string | undefined;
  const close = async () => {
    try {
      if (stagingDir) await rm(stagingDir, { recursive: true, force: true });
    } finally {
      await lock?.lock.release();
    }
  };
  try {
    if (lock) await removeStaleStaging(memoryDir);
    stagingDir = await createStaging(memoryDir);
  } catch (error) {
    await close();
    throw error;
  }
  return { stagingDir, close };
}
