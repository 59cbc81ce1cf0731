// store/lock.mts: a lock never strands a user. Written whole or not at all (a full disk leaves none), it names
// its holder; a lock from another host or an unreadable one is taken over after 30 minutes untouched;
// --break-lock removes it, and the refusal message gives that exact command.
// Run: npx tsx test/run.mts lock
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { Failure } from "../scripts/lib/cli.mts";
import { STALE_AFTER_MS, acquireLock, lockPath } from "../scripts/lib/store/lock.mts";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { syncLocal } from "./helpers/run.mts";
import { tempDir } from "./helpers/tmp.mts";

const tmp = tempDir("lock");

let count = 0;
function memoryDir(): string {
  const dir = join(tmp, `m${++count}`);
  mkdirSync(dir);
  return join(dir, "memory");
}

const otherHost = (startedAt = new Date().toISOString()) =>
  JSON.stringify({
    pid: 4242,
    host: "runner-7f3a",
    startedAt,
    command: "sync-memory",
    argv: "sync-memory.mts --app x",
  });

function age(path: string, ms: number): void {
  const then = new Date(Date.now() - ms);
  utimesSync(path, then, then);
}

describe("lock", () => {
  test("records pid, host, start time and the command line", async () => {
    const memory = memoryDir();
    const { lock } = await acquireLock(memory, "sync-memory");
    const info = JSON.parse(readFileSync(lockPath(memory), "utf8"));
    assert.equal(info.pid, process.pid);
    assert.equal(info.host, hostname());
    assert.ok(Date.parse(info.startedAt) <= Date.now());
    assert.equal(info.command, "sync-memory");
    assert.equal(typeof info.argv, "string");
    await lock.release();
    assert.deepEqual(readdirSync(join(memory, "..")), [], "released: nothing left, no temporary either");
  });

  test("another host's lock: refused while fresh, naming owner, age and the command; taken over after 30 min", async () => {
    const memory = memoryDir();
    writeFileSync(lockPath(memory), otherHost(new Date(Date.now() - 5 * 60_000).toISOString()));
    await assert.rejects(
      acquireLock(memory, "prune", { breakCommand: "npx tsx scripts/prune.mts --break-lock" }),
      (error) => {
        assert.ok(error instanceof Failure);
        assert.match(
          error.message,
          /another sync-memory of .* is running \(pid 4242 on runner-7f3a, started .*, 5 minutes ago: sync-memory\.mts --app x\)/,
        );
        assert.match(error.message, /taken over automatically once untouched for 30 minutes/);
        assert.match(error.message, /run 'npx tsx scripts\/prune\.mts --break-lock'/);
        return true;
      },
    );
    age(lockPath(memory), STALE_AFTER_MS + 60_000);
    const { lock, tookOver } = await acquireLock(memory, "prune");
    assert.equal(tookOver?.host, "runner-7f3a");
    await lock.release();
  });

  test("an unreadable (empty) lock is refused while recent and taken over once 30 minutes old", async () => {
    const memory = memoryDir();
    writeFileSync(lockPath(memory), "");
    await assert.rejects(
      acquireLock(memory, "sync-memory"),
      /a lock file that cannot be read, last touched less than a minute ago/,
    );
    age(lockPath(memory), STALE_AFTER_MS + 1000);
    const { lock, tookOver } = await acquireLock(memory, "sync-memory");
    assert.ok(tookOver);
    await lock.release();
    assert.equal(existsSync(lockPath(memory)), false);
  });

  test("a full disk leaves no lock file behind, and says so", async () => {
    if (process.getuid?.() !== 0)
      assert.fail("this test mounts a small tmpfs and needs root (CI runs as root)");
    const small = join(tmp, "full");
    mkdirSync(small);
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=16k", "tmpfs", small]);
    assert.equal(mounted.status, 0, `mount tmpfs: ${mounted.stderr}`);
    try {
      // Fill it up completely.
      spawnSync("sh", ["-c", `cat /dev/zero > ${join(small, "filler")}`]);
      const memory = join(small, "memory");
      await assert.rejects(acquireLock(memory, "sync-memory"), /cannot create the lock .*: the disk is full/);
      assert.deepEqual(readdirSync(small), ["filler"], "no lock, no temporary");
      rmSync(join(small, "filler"));
      const { lock } = await acquireLock(memory, "sync-memory");
      await lock.release();
    } finally {
      spawnSync("umount", [small]);
    }
  });

  test("sync --break-lock removes a live-looking lock on request and says whose it was", async () => {
    const memory = memoryDir();
    const state = makeStateDir(join(memory, "..", "state"), { secondAgent: false });
    writeFileSync(lockPath(memory), otherHost());
    const refused = await syncLocal(state.root, memory);
    assert.equal(refused.code, 1);
    const command = /run '(npx tsx scripts\/sync-memory\.mts --memory \S+ --break-lock)'/.exec(
      refused.stderr,
    );
    assert.ok(command, refused.stderr);
    assert.equal(existsSync(memory), false, "nothing written");
    const broken = await syncLocal(state.root, memory, ["--break-lock"]);
    assert.equal(broken.code, 0, broken.stderr);
    assert.match(
      broken.stderr,
      /removed the lock of sync-memory pid 4242 on runner-7f3a, started .* \(--break-lock\)/,
    );
    assert.equal(existsSync(lockPath(memory)), false, "and its own is released");
  });
});
