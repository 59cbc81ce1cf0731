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
import { uncommittedChanges } from "../store/git.mts";
import { SESSIONS_DIR } from "../store/provenance.mts";

export interface OpenMemory {
  /** The memory folder (absolute) and its sessions folder. */
  memoryDir: string;
  sessionsDir: string;
  /** Checks git and creates the staging folder (inside memory/'s parent); returns its path. */
  stage(): Promise<string>;
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

  let stagingDir: string | undefined;
  return {
    memoryDir,
    sessionsDir: join(memoryDir, SESSIONS_DIR),
    async stage() {
      if (!options.dryRun && !options.force) {
        const dirty = uncommittedChanges(memoryDir);
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
