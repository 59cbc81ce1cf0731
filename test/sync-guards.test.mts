// sync-memory.mts --local refusing and failing cleanly, driven as a user would (the real script as a child
// process, real files): a missing state dir, an empty cloud, uncommitted changes, a concurrent run, a failed move
// and a full disk. The rest of sync --local is in sync.test.mts.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { snapshot } from "./helpers/tree.mts";
import { tempDir } from "./helpers/tmp.mts";
import { assertCleanFailure, sync, syncLocalFast, workspaces } from "./helpers/sync-case.mts";

const tmp = tempDir("sync-guards");

const workspace = workspaces(tmp);
describe("sync --local", () => {
  test("a missing state dir is one sentence", async () => {
    const w = workspace();
    assertCleanFailure(
      await sync(["--local", "--state-dir", join(w.dir, "nowhere"), "--memory", w.memory]),
      /the state dir .*nowhere does not exist on this machine; pass --state-dir/,
      {},
      w.memory,
    );
    assertCleanFailure(
      await sync(["--local", "--state-dir", join(w.state.root, "openclaw.json"), "--memory", w.memory]),
      /the state dir .*openclaw\.json on this machine is a file, not a folder; pass the folder that holds openclaw\.json and agents\/ with --state-dir/,
      {},
      w.memory,
    );
  });

  test("an empty cloud never replaces a history (unless --allow-empty)", async () => {
    const w = workspace();
    assert.equal((await syncLocalFast(w.state.root, w.memory)).code, 0);
    const recreated = makeStateDir(join(w.dir, "recreated"), { secondAgent: false });
    for (const name of readdirSync(recreated.agents[0].sessionsDir)) {
      if (name !== "sessions.json") rmSync(join(recreated.agents[0].sessionsDir, name));
    }
    writeFileSync(join(recreated.agents[0].sessionsDir, "sessions.json"), "{}");
    const before = snapshot(w.memory);
    assertCleanFailure(
      await syncLocalFast(recreated.root, w.memory),
      /the cloud has no transcripts for agent main while .* holds 9: .*--allow-empty/,
      before,
      w.memory,
    );
    const allowed = await syncLocalFast(recreated.root, w.memory, ["--allow-empty", "--json"]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(readdirSync(w.sessions).length, 11, "transcripts stay; only sessions.json was replaced");
    assert.equal(readFileSync(join(w.sessions, "sessions.json"), "utf8"), "{}");
  });

  test("refuses to overwrite uncommitted changes in git, unless --force", async () => {
    const w = workspace();
    spawnSync("git", ["init", "-q", w.dir]);
    spawnSync("git", [
      "-C",
      w.dir,
      "-c",
      "user.email=t@e",
      "-c",
      "user.name=t",
      "commit",
      "-q",
      "--allow-empty",
      "-m",
      "init",
    ]);
    assert.equal((await syncLocalFast(w.state.root, w.memory)).code, 0);
    const edited = join(w.sessions, "sessions.json");
    writeFileSync(edited, "{}");
    const before = snapshot(w.memory);
    assertCleanFailure(
      await syncLocalFast(w.state.root, w.memory),
      /memory has uncommitted changes \(memory\/sessions\/.*\); commit or stash them first.*--force/,
      before,
      w.memory,
    );
    const forced = await syncLocalFast(w.state.root, w.memory, ["--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(readFileSync(edited, "utf8"), "{}");
  });

  test("a second concurrent run fails fast; a stale lock of a dead process is taken over", async () => {
    const w = workspace();
    const lock = join(w.dir, ".memory.sync.lock");
    const host = (await import("node:os")).hostname();
    writeFileSync(
      lock,
      JSON.stringify({ pid: process.pid, host, startedAt: "2026-11-24T06:00:00Z", command: "sync-memory" }),
    );
    assert.equal((await syncLocalFast(w.state.root, w.memory)).code, 1);
    const held = await syncLocalFast(w.state.root, w.memory);
    assert.match(
      held.stderr,
      new RegExp(`another sync-memory of .*memory is running \\(pid ${process.pid} on ${host}`),
    );
    assert.equal(existsSync(w.memory), false);
    const dead = spawnSync(process.execPath, [
      "-e",
      "process.stdout.write(String(process.pid))",
    ]).stdout.toString();
    writeFileSync(
      lock,
      JSON.stringify({ pid: Number(dead), host, startedAt: "2026-11-24T06:00:00Z", command: "sync-memory" }),
    );
    const takeover = await syncLocalFast(w.state.root, w.memory);
    assert.equal(takeover.code, 0, takeover.stderr);
    assert.match(takeover.stderr, new RegExp(`took over a stale lock of pid ${dead}`));
    assert.equal(existsSync(lock), false, "the lock is released");
  });

  test("a failure while moving files into place puts everything back", async () => {
    const w = workspace();
    assert.equal((await syncLocalFast(w.state.root, w.memory)).code, 0);
    // New cloud content for two files, and a folder where the second one has to go: the rename fails.
    const agent = w.state.agents[0];
    const names = readdirSync(agent.sessionsDir)
      .filter((n) => n.endsWith(".jsonl") && !n.includes("." + "checkpoint"))
      .sort();
    appendFileSync(
      join(agent.sessionsDir, names[0]),
      '{"type":"custom","id":"0000aaaa","parentId":null,"timestamp":"2026-11-21T00:00:00Z"}\n',
    );
    writeFileSync(
      join(agent.sessionsDir, "zz-new-session.jsonl"),
      '{"type":"session","version":3,"id":"zz-new-session"}\n',
    );
    mkdirSync(join(w.sessions, "zz-new-session.jsonl"));
    const before = snapshot(w.memory);
    assertCleanFailure(
      await syncLocalFast(w.state.root, w.memory, ["--force"]),
      /writing into .*memory failed \(.*\); it was left as it was before the sync/,
      before,
      w.memory,
    );
  });

  test("a full disk fails cleanly and leaves memory/ as it was", async (t) => {
    if (process.getuid?.() !== 0)
      assert.fail("this test mounts a small tmpfs and needs root (CI runs as root)");
    const w = workspace({ turns: 40 });
    const small = join(w.dir, "small");
    mkdirSync(small);
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=48k", "tmpfs", small]);
    assert.equal(mounted.status, 0, `mount tmpfs: ${mounted.stderr}`);
    t.after(() => spawnSync("umount", [small]));
    const memory = join(small, "memory");
    mkdirSync(join(memory, "sessions"), { recursive: true });
    writeFileSync(join(memory, "sessions", "keep.jsonl"), '{"type":"session","version":3,"id":"keep"}\n');
    const before = snapshot(memory);
    assertCleanFailure(
      await syncLocalFast(w.state.root, memory),
      /no space left on device|disk is full|ENOSPC/i,
      before,
      memory,
    );
  });
});
