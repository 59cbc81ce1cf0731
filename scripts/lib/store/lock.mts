// One sync at a time per memory folder. The lock is a file next to the folder (never inside it, so it is never
// committed), created with O_EXCL. A lock left by a process that no longer runs on this host is taken over.
import { open, readFile, rename, rm, stat } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { hostname } from "node:os";
import { Failure } from "../cli.mts";

export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

export function lockPath(memoryDir: string): string {
  return join(dirname(memoryDir), `.${basename(memoryDir)}.sync.lock`);
}

/** Whether a process with this pid runs on this host. */
export function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class Lock {
  private released = false;
  constructor(
    readonly path: string,
    readonly info: LockInfo,
  ) {}
  /** Removes the lock file, only if it is still ours. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const holder = await readHolder(this.path);
    if (holder && holder.pid === this.info.pid && holder.startedAt === this.info.startedAt) {
      await rm(this.path, { force: true });
    }
  }
}

export async function acquireLock(
  memoryDir: string,
  command: string,
): Promise<{ lock: Lock; tookOver?: LockInfo }> {
  const path = lockPath(memoryDir);
  const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command };
  let tookOver: LockInfo | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, "wx", 0o644);
      await handle.writeFile(`${JSON.stringify(info)}\n`);
      await handle.close();
      return { lock: new Lock(path, info), tookOver };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw new Failure(`cannot create the lock ${path}: its folder does not exist`);
      if (code !== "EEXIST") throw new Failure(`cannot create the lock ${path}: ${(error as Error).message}`);
    }
    const holder = await readHolder(path);
    // A holder with our own pid on this host is a previous life of this pid (a restarted container), not us.
    if (holder && holder.host === hostname() && (holder.pid === process.pid || !alive(holder.pid))) {
      // Take over by renaming: of two runs doing this at once, only one rename succeeds.
      const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
      const moved = await rename(path, aside).then(
        () => true,
        () => false,
      );
      if (moved) {
        const taken = await readHolder(aside);
        await rm(aside, { force: true });
        if (taken && (taken.pid !== holder.pid || taken.startedAt !== holder.startedAt)) {
          // Between the read and the rename another run had taken over: that lock is live; give up.
          throw new Failure(
            `another ${taken.command} of ${memoryDir} started at the same moment (pid ${taken.pid}); try again`,
          );
        }
        tookOver = holder;
      }
      continue;
    }
    if (!holder) {
      // Unreadable or half-written: only stale if it has been there a while.
      const age =
        Date.now() -
        (await stat(path)
          .then((s) => s.mtimeMs)
          .catch(() => Date.now()));
      if (age > 10 * 60_000) {
        await rm(path, { force: true });
        continue;
      }
    }
    const who = holder
      ? `pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}`
      : "an unknown process";
    throw new Failure(
      `another ${holder?.command ?? "sync or prune"} of ${memoryDir} is running (${who}); wait for it to finish, or delete ${path} if it is not running`,
    );
  }
  throw new Failure(`could not take the lock ${path}; try again`);
}

async function readHolder(path: string): Promise<LockInfo | undefined> {
  try {
    const value = JSON.parse(await readFile(path, "utf8")) as LockInfo;
    return typeof value.pid === "number" && typeof value.host === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}
