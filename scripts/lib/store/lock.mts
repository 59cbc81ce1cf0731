// One sync at a time per memory folder. The lock is a file next to the folder (never inside it, so it is never
// committed), created with O_EXCL. A lock left by a process that no longer runs on this host is taken over.
import { open, readFile, rm, stat } from "node:fs/promises";
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class Lock {
  private released = false;
  constructor(readonly path: string) {}
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await rm(this.path, { force: true });
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
      return { lock: new Lock(path), tookOver };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw new Failure(`cannot create the lock ${path}: its folder does not exist`);
      if (code !== "EEXIST") throw new Failure(`cannot create the lock ${path}: ${(error as Error).message}`);
    }
    const holder = await readHolder(path);
    if (holder && holder.host === hostname() && !alive(holder.pid)) {
      tookOver = holder;
      await rm(path, { force: true });
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
