// Ctrl-C (SIGINT) and SIGTERM during scripts/restore.mts, the real script as a child process, --local into
// file-era state dirs this file builds. The run is held at a known step by a stand-in for one tool on the bot's
// PATH (sha256sum or cat) that waits the first time it is called: while restore reads what the bot has, while the
// bundle is being sent, and while the bot applies it. Before the apply: exit 130, one sentence, the state dir
// byte-identical and no staging folder left. During the apply: the bot finishes it, restore exits 130 saying so,
// and the bot holds the complete restore (a second run changes nothing).
// Run: npx tsx test/run.mts restore-interrupt
// test tier: full — restores held at a step and interrupted, each waiting for a stand-in tool on the bot's PATH
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { runScript, startScript, syncLocal, type RunResult } from "./helpers/run.mts";
import { tempDir } from "./helpers/tmp.mts";
import { snapshot } from "./helpers/tree.mts";
import type { RestoreSummary } from "../scripts/lib/restore/run.mts";

const tmp = tempDir("restore-interrupt");
const memory = join(tmp, "memory");
before(async () => {
  const cloud = makeStateDir(join(tmp, "cloud"), { secondAgent: false });
  const synced = await syncLocal(cloud.root, memory, ["--quiet"]);
  assert.equal(synced.code, 0, synced.stderr);
  mkdirSync(join(memory, "workspace"), { recursive: true });
  writeFileSync(join(memory, "workspace", "MEMORY.md"), "# Memory\n\n- Dana prefers short answers.\n");
});

function bot(name: string): string {
  const state = join(tmp, name);
  mkdirSync(state, { recursive: true });
  writeFileSync(
    join(state, "openclaw.json"),
    `${JSON.stringify({ meta: { lastTouchedVersion: "2026.7.1" }, session: { maintenance: { mode: "warn" } }, agents: { defaults: { workspace: join(state, "workspace") } } })}\n`,
  );
  return state;
}

/** A folder holding a stand-in for `tool` that, the first time it is called (with no arguments when `bare`),
 * marks `ready` and waits `seconds` before running the real one. */
function holdAt(name: string, tool: string, seconds: number, bare = false): { path: string; ready: string } {
  const real = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
  assert.ok(real, `${tool} is not installed`);
  const bin = join(tmp, `hold-${name}`);
  mkdirSync(bin, { recursive: true });
  const ready = join(bin, "ready");
  writeFileSync(
    join(bin, tool),
    `#!/bin/sh\nif ${bare ? '[ "$#" = 0 ] && ' : ""}[ ! -e '${ready}' ]; then : > '${ready}'; sleep ${seconds}; fi\nexec ${real} "$@"\n`,
    { mode: 0o755 },
  );
  return { path: `${bin}${delimiter}${process.env.PATH}`, ready };
}

async function interrupted(
  state: string,
  hold: { path: string; ready: string },
  signal: NodeJS.Signals,
): Promise<RunResult> {
  const child = startScript("restore.mts", ["--local", "--memory", memory, "--state-dir", state], {
    PATH: hold.path,
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (c: Buffer) => out.push(c));
  child.stderr.on("data", (c: Buffer) => err.push(c));
  const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on("close", (code, sig) => resolve([code, sig])),
  );
  const deadline = Date.now() + 60_000;
  while (!existsSync(hold.ready)) {
    assert.ok(Date.now() < deadline, `restore never reached the step (${Buffer.concat(err).toString()})`);
    await sleep(50);
  }
  const sentAt = Date.now();
  child.kill(signal);
  const [code, sig] = await closed;
  return {
    code,
    signal: sig,
    stdout: Buffer.concat(out).toString(),
    stderr: Buffer.concat(err).toString() + `\n(exited ${Date.now() - sentAt} ms after the signal)`,
  };
}

const errors = (result: RunResult) => result.stderr.split("\n").filter((l) => l.includes("error:"));

describe("restore interrupted", () => {
  test("SIGINT while restore reads what the bot has: exit 130, one sentence, the bot byte-identical", async () => {
    const state = bot("reading");
    // The bot has sessions of its own, so its listing (pull.sh manifest) hashes them.
    const own = makeStateDir(join(tmp, "reading-own"), { secondAgent: false });
    cpSync(join(own.root, "agents"), join(state, "agents"), { recursive: true });
    const before = snapshot(state);
    const result = await interrupted(state, holdAt("reading", "sha256sum", 30), "SIGINT");
    assert.equal(result.code, 130, result.stderr);
    assert.deepEqual(errors(result), [
      "restore: error: interrupted by SIGINT before anything was applied; nothing was changed on the bot",
    ]);
    assert.deepEqual(snapshot(state), before);
  });

  test("SIGINT while the bundle is being sent: the staging folder on the bot is removed, the bot byte-identical", async () => {
    const state = bot("sending");
    const before = snapshot(state);
    const result = await interrupted(state, holdAt("sending", "cat", 30, true), "SIGINT");
    assert.equal(result.code, 130, result.stderr);
    assert.deepEqual(errors(result), [
      "restore: error: interrupted by SIGINT during the transfer (the staging folder on the bot was removed); nothing was changed on the bot",
    ]);
    assert.deepEqual(snapshot(state), before, "something was left on the bot");
  });

  test("SIGTERM while the bot applies: the apply is finished first, restore says so (exit 130), a second run changes nothing", async () => {
    const state = bot("applying");
    const result = await interrupted(state, holdAt("applying", "sha256sum", 3), "SIGTERM");
    assert.equal(result.code, 130, result.stderr);
    assert.deepEqual(errors(result), [
      "restore: error: interrupted by SIGTERM while the bot applied the restore; that step was finished first, so the bot holds this restore's complete result (checked); run restore again to see it (it changes nothing)",
    ]);
    const sessions = join(state, "agents", "main", "sessions");
    for (const name of readdirSync(join(memory, "sessions")).filter((n) => n !== "sessions.json"))
      assert.deepEqual(
        readFileSync(join(sessions, name)),
        readFileSync(join(memory, "sessions", name)),
        name,
      );
    assert.equal(
      readFileSync(join(state, "workspace", "MEMORY.md"), "utf8"),
      readFileSync(join(memory, "workspace", "MEMORY.md"), "utf8"),
    );
    assert.deepEqual(
      readdirSync(state).filter((n) => n.startsWith(".ocsync-restore")),
      [],
    );
    const again = await runScript("restore.mts", [
      "--local",
      "--memory",
      memory,
      "--state-dir",
      state,
      "--json",
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as RestoreSummary).changed, false);
  });
});
