// Stage 0 and stage 4, the memory folder. Before anything else: one run at a time (the lock), and what an
// interrupted run left is completed or rolled back (store/apply.mts). Once the bot is known: git is the safety
// net (refuse to overwrite what no commit holds), and a staging folder next to memory/ that every later stage
// writes into.
import { rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Failure, type Reporter } from "../cli.mts";
import { checkRemoteArg } from "../remote/transport.mts";
import { createStaging, openForWriting, recoverBeforeReading } from "../store/apply.mts";
import { faultPoint } from "../store/fault.mts";
import { cleanBlobs, uncommittedChanges } from "../store/git.mts";
import { SYNCIGNORE_FILE } from "../store/syncignore.mts";
import { ALLOW_FILE } from "../secrets.mts";
import { SESSIONS_DIR } from "../store/provenance.mts";

export interface OpenMemory {
  /** The memory folder (absolute) and its sessions folder. */
  memoryDir: string;
  sessionsDir: string;
  /** Checks git and creates the staging folder (inside memory/'s parent); returns its path. */
  stage(): Promise<string>;
  /** Git's blob id of each file of the sessions folder that git says is clean (store/git.mts cleanBlobs). */
  cleanBlobs(): Promise<Map<string, string> | undefined>;
  /** Removes the staging folder and releases the lock. */
  close(): Promise<void>;
}

interface MemoryOptions {
  memory: string;
  agent?: string;
  dryRun: boolean;
  force: boolean;
  breakLock?: boolean;
  reporter: Reporter;
}

export async function openMemory(options: MemoryOptions): Promise<OpenMemory> {
  const memoryDir = resolve(options.memory);
  const memoryStat = await stat(memoryDir).catch(() => undefined);
  if (memoryStat && !memoryStat.isDirectory())
    throw new Failure(`--memory ${options.memory} is not a folder`, 2);
  if (options.agent !== undefined) checkRemoteArg(options.agent, "--agent");
  const memoryParent = resolve(memoryDir, "..");
  if (!(await stat(memoryParent).catch(() => undefined))) {
    throw new Failure(
      `the folder that should hold ${options.memory} (${memoryParent}) does not exist; create it first`,
    );
  }
  const lock = options.dryRun
    ? undefined
    : await openForWriting(memoryDir, "sync-memory", {
        breakLock: options.breakLock,
        breakCommand: `npx tsx scripts/sync-memory.mts --memory ${options.memory} --break-lock`,
      });
  for (const note of lock?.notes ?? (await recoverBeforeReading(memoryDir, "sync-memory")))
    options.reporter.info(note);

  // Git's answers are asked for now, and read when they are needed: the questions run while the bot answers its
  // own (they only read; the lock keeps every other run out). The settings sync only reads (a new .syncignore
  // line, an allow-list entry) are no reason to stop.
  const sessionsDir = join(memoryDir, SESSIONS_DIR);
  const guard =
    options.dryRun || options.force
      ? Promise.resolve(undefined)
      : uncommittedChanges(memoryDir, [SYNCIGNORE_FILE, ALLOW_FILE]);
  guard.catch(() => {}); // said by stage()
  // After the guard: both may refresh git's index, and only one can hold its lock.
  const blobs = options.dryRun
    ? Promise.resolve(undefined)
    : guard.then(
        () => cleanBlobs(sessionsDir),
        () => undefined,
      );
  let stagingDir: string | undefined;
  return {
    memoryDir,
    sessionsDir,
    cleanBlobs: () => blobs,
    async stage() {
      if (!options.dryRun && !options.force) {
        const dirty = await guard;
        if (dirty && dirty.length) {
          throw new Failure(
            `${options.memory} has uncommitted changes (${dirty.slice(0, 3).join(", ")}${dirty.length > 3 ? `, and ${dirty.length - 3} more` : ""}); commit or stash them first so every byte sync overwrites stays in git, or pass --force`,
          );
        }
      }
      stagingDir = await createStaging(memoryDir);
      await faultPoint("staging folder created");
      return stagingDir;
    },
    async close() {
      try {
        if (stagingDir) await rm(stagingDir, { recursive: true, force: true });
      } finally {
        await lock?.lock.release();
      }
    },
  };
}
