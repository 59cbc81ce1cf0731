// One writer at a time per memory folder (sync, prune, restore, and a verify that has to recover). The lock is
// a file next to the folder (never inside it, so it is never committed): `.<memory>.sync.lock`.
//
// * It is written completely or not at all: the holder's record goes to a temporary file (fsynced), which is
//   then hard-linked to the lock's name; the link fails if a lock exists. A full disk leaves no lock behind.
//   Where the filesystem has no hard links (FAT, exFAT), the lock's name is created exclusively instead.
// * It records pid, hostname, start time and the command line; the holder touches it every minute.
// * A lock whose process is provably gone (this host, pid not running) is taken over at once. A lock from
//   another host (a CI runner, a container with a new hostname) or one that cannot be read is taken over once
//   it has not been touched for STALE_AFTER_MS (the daily workflow's 30-minute limit).
// * `--break-lock` (restic's `unlock`) removes a lock on request.
import { link, open, readFile, rename, rm, stat, unlink, utimes } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { hostname } from "node:os";
import { Failure } from "../cli.mts";

/** A lock from another host, or an unreadable one, untouched this long is stale. */
export const STALE_AFTER_MS = 30 * 60_000;
const HEARTBEAT_MS = 60_000;

export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  /** The program: sync-memory, prune, verify, restore. */
  command: string;
  /** The whole command line, for the refusal message. */
  argv?: string;
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

/** The locks this process holds: path → startedAt. */
const held = new Map<string, string>();

export class Lock {
  private released = false;
  private readonly heartbeat: NodeJS.Timeout;
  constructor(
    readonly path: string,
    readonly info: LockInfo,
  ) {
    this.heartbeat = setInterval(() => {
      const now = new Date();
      utimes(path, now, now).catch(() => {});
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }
  /** Removes the lock file, only if it is still ours. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.heartbeat);
    if (held.get(this.path) === this.info.startedAt) held.delete(this.path);
    const holder = await readHolder(this.path);
    if (holder && holder.pid === this.info.pid && holder.startedAt === this.info.startedAt) {
      await rm(this.path, { force: true });
    }
  }
}

export interface LockOptions {
  /** Remove whatever lock is there first (the user said its run is gone). */
  breakLock?: boolean;
  /** The command that breaks the lock, for the refusal message. */
  breakCommand?: string;
}

function describeAge(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return "less than a minute";
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} hours` : `${Math.floor(hours / 24)} days`;
}

export async function acquireLock(
  memoryDir: string,
  command: string,
  options: LockOptions = {},
): Promise<{ lock: Lock; tookOver?: LockInfo; broken?: LockInfo | "unreadable" }> {
  const path = lockPath(memoryDir);
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    command,
    argv: [basename(process.argv[1] ?? command), ...process.argv.slice(2)].join(" "),
  };
  let broken: LockInfo | "unreadable" | undefined;
  if (options.breakLock) {
    const holder = await readHolder(path);
    const existed = await rm(path).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return false;
        throw new Failure(`cannot remove the lock ${path}: ${error.message}`);
      },
    );
    if (existed) broken = holder ?? "unreadable";
  }
  let tookOver: LockInfo | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createLockFile(path, info)) {
      held.set(path, info.startedAt);
      return { lock: new Lock(path, info), tookOver, broken };
    }
    const holder = await readHolder(path);
    const touched = await stat(path).then(
      (s) => s.mtimeMs,
      () => undefined,
    );
    if (touched === undefined) continue; // released meanwhile
    const age = Date.now() - touched;
    const sameHost = holder?.host === hostname();
    // A holder with our own pid on this host is a previous life of this pid (a restarted container), unless
    // this process holds it right now.
    const ours = holder?.pid === process.pid && held.get(path) === holder.startedAt;
    const gone = holder && sameHost && !ours && (holder.pid === process.pid || !alive(holder.pid));
    if (gone || ((!holder || !sameHost) && age > STALE_AFTER_MS)) {
      if (await takeOver(path, holder, memoryDir)) tookOver = holder ?? { ...unknownHolder, startedAt: "" };
      continue;
    }
    const who = holder
      ? `pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}, ${describeAge(Date.now() - Date.parse(holder.startedAt))} ago${holder.argv ? `: ${holder.argv}` : ""}`
      : `a lock file that cannot be read, last touched ${describeAge(age)} ago`;
    const automatic =
      !holder || !sameHost
        ? `; it is taken over automatically once untouched for ${STALE_AFTER_MS / 60_000} minutes`
        : "";
    throw new Failure(
      `another ${holder?.command ?? "run"} of ${memoryDir} is running (${who})${automatic}; wait for it to finish, or if it is no longer running, run '${options.breakCommand ?? `${command} --break-lock`}'`,
    );
  }
  throw new Failure(`could not take the lock ${path}; try again`);
}

const unknownHolder: LockInfo = { pid: 0, host: "?", startedAt: "", command: "unknown" };

/** Writes the record to a temporary file, then links it to the lock's name: all or nothing, exclusive. */
async function createLockFile(path: string, info: LockInfo): Promise<boolean> {
  const temp = `${path}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  try {
    const handle = await open(temp, "wx", 0o644);
    try {
      await handle.writeFile(`${JSON.stringify(info)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temp, path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw error;
      // A filesystem without hard links (FAT, exFAT: a clone on a USB stick): create the lock's name exclusively
      // and write the record into it. A reader that comes in between sees an empty lock, which it treats as
      // held (unreadable, taken over only when stale); a failed write removes it again.
      await createDirectly(path, info);
    }
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code === "ENOENT") throw new Failure(`cannot create the lock ${path}: its folder does not exist`);
    if (code === "ENOSPC") throw new Failure(`cannot create the lock ${path}: the disk is full`);
    throw new Failure(`cannot create the lock ${path}: ${(error as Error).message}`);
  } finally {
    await unlink(temp).catch(() => {});
  }
}

async function createDirectly(path: string, info: LockInfo): Promise<void> {
  const handle = await open(path, "wx", 0o644);
  try {
    await handle.writeFile(`${JSON.stringify(info)}\n`);
    await handle.sync();
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(path).catch(() => {});
    throw error;
  }
}

/** Moves a stale lock aside; of two runs doing this at once, only one succeeds. */
async function takeOver(path: string, holder: LockInfo | undefined, memoryDir: string): Promise<boolean> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  const moved = await rename(path, aside).then(
    () => true,
    () => false,
  );
  if (!moved) return false;
  const taken = await readHolder(aside);
  await rm(aside, { force: true });
  if (holder && taken && (taken.pid !== holder.pid || taken.startedAt !== holder.startedAt)) {
    // Between the read and the rename another run had taken over: that lock is live; give up.
    throw new Failure(
      `another ${taken.command} of ${memoryDir} started at the same moment (pid ${taken.pid}); try again`,
    );
  }
  return true;
}

async function readHolder(path: string): Promise<LockInfo | undefined> {
  try {
    const value = JSON.parse(await readFile(path, "utf8")) as LockInfo;
    return typeof value.pid === "number" && typeof value.host === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}
