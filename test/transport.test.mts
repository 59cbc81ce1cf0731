// Transport and store edge cases found in review: a slow local consumer is not a dead link, a lock left by a
// dead run is taken over by exactly one of two racing runs, and a lock is only released by its owner.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { LocalTransport } from "../scripts/lib/remote/transport.mts";
import { readRemoteStream } from "../scripts/lib/remote/stream.mts";
import { acquireLock, lockPath } from "../scripts/lib/store/lock.mts";
import { Failure } from "../scripts/lib/cli.mts";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { syncLocal } from "./helpers/run.mts";
import { snapshot } from "./helpers/tree.mts";
import { tempDir } from "./helpers/tmp.mts";

const tmp = tempDir("transport");

function deadPid(): number {
  return Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout);
}

describe("Transport", () => {
  test("a consumer slower than the idle timeout is not taken for a dead link", async () => {
    const state = makeStateDir(join(tmp, "slow"), { turns: 200 });
    const staging = join(tmp, "slow-staging");
    mkdirSync(staging);
    const transport = new LocalTransport();
    const result = await transport.call({
      program: "pull.sh",
      args: ["stream", state.root, "main", "+*.jsonl", "+sessions.json"],
      label: "transfer",
      idleTimeoutMs: 1500,
      consume: async (stdout) => {
        // Every chunk takes longer than the idle timeout to handle (a slow disk, a big prefix copy).
        const slow = new (await import("node:stream")).Transform({
          highWaterMark: 1,
          transform(chunk, _encoding, done) {
            setTimeout(() => done(null, chunk), 1800);
          },
        });
        stdout.pipe(slow);
        return readRemoteStream(slow, { stagingDir: staging });
      },
    });
    assert.ok(result.files.length >= 7);
  });
});

describe("lock", () => {
  test("of two runs taking over the same stale lock, exactly one wins", async () => {
    for (let round = 0; round < 30; round++) {
      const memory = join(tmp, `race${round}`, "memory");
      mkdirSync(join(memory, ".."), { recursive: true });
      writeFileSync(
        lockPath(memory),
        JSON.stringify({
          pid: deadPid(),
          host: hostname(),
          startedAt: "2026-11-24T00:00:00Z",
          command: "sync-memory",
        }),
      );
      const outcomes = await Promise.allSettled([acquireLock(memory, "a"), acquireLock(memory, "b")]);
      const won = outcomes.filter((o) => o.status === "fulfilled");
      assert.equal(won.length, 1, `round ${round}: ${outcomes.map((o) => o.status).join(", ")}`);
      for (const o of outcomes)
        if (o.status === "rejected") assert.ok(o.reason instanceof Failure, String(o.reason));
    }
  });

  test("a lock is released only by its owner", async () => {
    const memory = join(tmp, "owner", "memory");
    mkdirSync(join(memory, ".."), { recursive: true });
    const { lock } = await acquireLock(memory, "sync-memory");
    // Someone removed our lock by hand and another run took it: our release must not remove theirs.
    rmSync(lockPath(memory));
    const theirs = JSON.stringify({ pid: process.ppid, host: hostname(), startedAt: "x", command: "prune" });
    writeFileSync(lockPath(memory), theirs);
    await lock.release();
    assert.equal(readFileSync(lockPath(memory), "utf8"), theirs);
  });

  test("a lock recorded with our own pid is a previous life of this pid, taken over", async () => {
    const memory = join(tmp, "samepid", "memory");
    mkdirSync(join(memory, ".."), { recursive: true });
    writeFileSync(
      lockPath(memory),
      JSON.stringify({
        pid: process.pid,
        host: hostname(),
        startedAt: "2026-01-01T00:00:00Z",
        command: "sync-memory",
      }),
    );
    const { lock, tookOver } = await acquireLock(memory, "sync-memory");
    assert.equal(tookOver?.startedAt, "2026-01-01T00:00:00Z");
    await lock.release();
    assert.equal(existsSync(lockPath(memory)), false);
  });
});

describe("git guard", () => {
  test("when git cannot answer (dubious ownership), sync refuses instead of skipping the guard", async () => {
    if (process.getuid?.() !== 0)
      assert.fail("this test changes file ownership and needs root (CI runs as root)");
    const dir = join(tmp, "dubious");
    const state = makeStateDir(join(dir, "state"));
    const repo = join(dir, "repo");
    mkdirSync(repo);
    spawnSync("git", ["init", "-q", repo]);
    const memory = join(repo, "memory");
    assert.equal((await syncLocal(state.root, memory)).code, 0);
    spawnSync("chown", ["-R", "12345:12345", repo]);
    const before = snapshot(memory);
    // No global or system git config: nothing may mark the folder safe.
    const noGitConfig = { env: { GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" } };
    const result = await syncLocal(state.root, memory, [], noGitConfig);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /error: git could not tell whether .*memory has uncommitted changes \(.*dubious ownership.*\); fix that, or pass --force/,
    );
    assert.deepEqual(snapshot(memory), before);
    const forced = await syncLocal(state.root, memory, ["--force"], noGitConfig);
    assert.equal(forced.code, 0, forced.stderr);
  });
});

describe("odd names on the bot", () => {
  test("a file whose name starts with '-' neither breaks the transfer nor is lost: kept as an unknown kind, named", async () => {
    const state = makeStateDir(join(tmp, "dash", "state"));
    writeFileSync(join(state.agents[0].sessionsDir, "-n.jsonl"), '{"type":"session","version":3,"id":"x"}\n');
    const memory = join(tmp, "dash", "memory");
    const result = await syncLocal(state.root, memory, ["--json"]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).unknownFiles, ["-n.jsonl"]);
    assert.match(result.stderr, /warning: -n\.jsonl is not a file name OpenClaw is known to write/);
    assert.equal(existsSync(join(memory, "sessions", "-n.jsonl")), true);
  });
});
