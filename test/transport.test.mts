// Transport and store edge cases found in review: a slow local consumer is not a dead link, a lock left by a
// dead run is taken over by exactly one of two racing runs, a lock is only released by its owner, and every
// transport can send data to a file on the bot's machine (receive).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { Readable } from "node:stream";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { LocalTransport } from "../scripts/lib/remote/local.mts";
import { SshTransport } from "../scripts/lib/remote/ssh.mts";
import { FlyTransport } from "../scripts/lib/remote/fly.mts";
import type { Transport } from "../scripts/lib/remote/transport.mts";
import { readRemoteStream } from "../scripts/lib/remote/stream.mts";
import { acquireLock, lockPath } from "../scripts/lib/store/lock.mts";
import { Failure } from "../scripts/lib/cli.mts";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { syncLocal } from "./helpers/run.mts";
import { snapshot } from "./helpers/tree.mts";
import { tempDir } from "./helpers/tmp.mts";
import { startSshd, type Sshd } from "./helpers/sshd.mts";
import { fakeFly, type FakeFly } from "./helpers/fly.mts";

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

describe("receive: data sent to a file on the bot's machine, by every transport", () => {
  const data = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
  let sshd: Sshd | undefined;
  let fly: FakeFly | undefined;
  before(async () => {
    sshd = await startSshd(join(tmp, "sshd"));
    fly = fakeFly(join(tmp, "fly"), "/data");
    for (const name of ["FAKE_FLY_CONFIG", "FLY_API_TOKEN"] as const) process.env[name] = fly.env[name];
  });
  after(() => sshd?.stop());

  const transports: [string, () => Transport][] = [
    ["local", () => new LocalTransport()],
    [
      "ssh",
      () =>
        new SshTransport(
          { host: "127.0.0.1", port: sshd!.port, user: userInfo().username },
          sshd!.clientOptions.flatMap((option) => ["-o", option]),
        ),
    ],
    [
      "fly",
      () =>
        new FlyTransport(join(fly!.bin, "flyctl"), "my-bot", {
          id: "148e6d4c2e9d89",
          state: "started",
          mounts: [],
        }),
    ],
  ];
  for (const [kind, make] of transports) {
    test(`${kind}: a stream arrives whole, private, with no temporary left, its folder created`, async () => {
      const dir = join(tmp, `receive-${kind}`, "new folder");
      const target = join(dir, "restore data.bin");
      await make().receive({
        path: target,
        data: () => Readable.from([data.subarray(0, 1000), data.subarray(1000)]),
        idleTimeoutMs: 20_000,
        label: "upload",
      });
      assert.ok(readFileSync(target).equals(data));
      assert.equal(statSync(target).mode & 0o777, 0o600);
      assert.deepEqual(readdirSync(dir), ["restore data.bin"]);
      // A second receive replaces the file whole.
      await make().receive({
        path: target,
        data: () => Buffer.from("hello\n"),
        idleTimeoutMs: 20_000,
        label: "upload",
      });
      assert.equal(readFileSync(target, "utf8"), "hello\n");
      assert.deepEqual(readdirSync(dir), ["restore data.bin"]);
    });
    test(`${kind}: a file that cannot be written is one sentence, and nothing is left`, async () => {
      // A folder on the way is a file: it cannot be created.
      writeFileSync(join(tmp, `in-the-way-${kind}`), "a file");
      const target = join(tmp, `in-the-way-${kind}`, "sub", "data");
      await assert.rejects(
        make().receive({
          path: target,
          data: () => Buffer.from("x"),
          idleTimeoutMs: 20_000,
          label: "upload",
        }),
        (error) =>
          error instanceof Failure && /the upload (failed|from)/.test(error.message) && !existsSync(target),
      );
    });
  }
});
