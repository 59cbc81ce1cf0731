// scripts/restore.mts and the agent's memory files (MEMORY.md, memory/*.md, USER.md, SOUL.md, IDENTITY.md,
// AGENTS.md, TOOLS.md), and the names the backup stores escaped: the real restore as a child process, --local,
// into file-era state dirs this file builds (no OpenClaw needed: the version comes from openclaw.json). Never
// overwritten: a workspace file the bot has with other bytes stays, the backup's goes beside it (or, with
// --prefer backup, the bot's moves aside); a second run changes nothing; a failure leaves the bot byte-identical.
// Run: npx tsx test/run.mts restore-workspace
// test tier: full — a real sync of a bot with a workspace, then restores into recreated bots, about 15 script runs
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { runScript, syncLocal, type RunResult } from "./helpers/run.mts";
import { tempDir } from "./helpers/tmp.mts";
import { sha256, snapshot } from "./helpers/tree.mts";
import type { RestoreSummary } from "../scripts/lib/restore/run.mts";

const tmp = tempDir("restore-workspace");

/** The agent's memory files as a bot keeps them in its workspace. */
const WORKSPACE: Record<string, string> = {
  "MEMORY.md": "# Memory\n\n- The user prefers short answers.\n- Project Atlas ships on 2026-12-01.\n",
  "USER.md": "# User\n\nName: Dana. Timezone: Europe/Berlin.\n",
  "SOUL.md": "# Soul\n\nCalm, precise, a little dry.\n",
  "IDENTITY.md": "# Identity\n\nName: Pilot\n",
  "AGENTS.md": "# Agents\n\nRead MEMORY.md first.\n",
  "TOOLS.md": "# Tools\n\nUse the calendar tool for dates.\n",
  "memory/2026-11-18.md": "# 2026-11-18\n\nDana asked about the Atlas launch.\n",
  "memory/2026-11-19.md": "# 2026-11-19\n\nMoved the review to Friday.\n",
};

/** A backup as sync writes it: the real sync (made once) of a bot whose workspace holds the memory files, so
 * memory/sessions and memory/workspace/ are sync's own; each test gets its own copy. */
const template = join(tmp, "template-memory");
before(async () => {
  const cloud = makeStateDir(join(tmp, "template-cloud"), { secondAgent: false, workspace: WORKSPACE });
  const synced = await syncLocal(cloud.root, template, ["--quiet"]);
  assert.equal(synced.code, 0, synced.stderr);
  for (const [path, text] of Object.entries(WORKSPACE))
    assert.equal(readFileSync(join(template, "workspace", path), "utf8"), text, `sync stored ${path}`);
});
async function backup(name: string): Promise<string> {
  const memory = join(tmp, name, "memory");
  cpSync(template, memory, { recursive: true });
  return memory;
}

/** A recreated bot: a state dir with openclaw.json (version, maintenance warn, the workspace on the volume). */
function freshBot(name: string, config: Record<string, unknown> = {}): { state: string; workspace: string } {
  const state = join(tmp, name, "bot");
  mkdirSync(state, { recursive: true });
  const workspace = join(state, "workspace");
  writeFileSync(
    join(state, "openclaw.json"),
    `${JSON.stringify(
      {
        meta: { lastTouchedVersion: "2026.7.1" },
        session: { maintenance: { mode: "warn" } },
        agents: { defaults: { workspace } },
        ...config,
      },
      null,
      2,
    )}\n`,
  );
  return { state, workspace };
}

function restore(memory: string, state: string, args: string[] = []): Promise<RunResult> {
  return runScript("restore.mts", ["--local", "--memory", memory, "--state-dir", state, ...args], {
    env: { PATH: process.env.PATH },
    timeoutMs: 120_000,
  });
}

function summaryOf(result: RunResult): RestoreSummary {
  assert.equal(result.code, 0, `restore failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as RestoreSummary;
}

describe("restore puts the agent's memory files back into its workspace", () => {
  test("a fresh bot: every memory file arrives byte for byte, mode 0644; a second run changes nothing", async () => {
    const memory = await backup("fresh");
    const { state, workspace } = freshBot("fresh");
    const dry = summaryOf(await restore(memory, state, ["--dry-run", "--json"]));
    assert.ok(!existsSync(workspace), "a dry run created the workspace");
    assert.deepEqual(
      dry.workspace?.files.map((f) => [f.path, f.action]),
      Object.keys(WORKSPACE)
        .sort()
        .map((p) => [p, "add"]),
    );
    const summary = summaryOf(await restore(memory, state, ["--json"]));
    assert.equal(summary.workspace?.path, workspace);
    assert.match(summary.workspace?.source ?? "", /agents\.defaults\.workspace/);
    for (const [path, text] of Object.entries(WORKSPACE)) {
      assert.equal(readFileSync(join(workspace, path), "utf8"), text, path);
      assert.equal(statSync(join(workspace, path)).mode & 0o777, 0o644, path);
    }
    assert.deepEqual(
      readdirSync(state).filter((n) => n.startsWith(".ocsync-restore")),
      [],
    );
    const before = snapshot(state);
    const again = summaryOf(await restore(memory, state, ["--json"]));
    assert.equal(again.changed, false);
    assert.ok(again.workspace?.files.every((f) => f.action === "skip"));
    assert.deepEqual(snapshot(state), before, "a second restore changed the bot");
  });

  test("a bot with memory files of its own: none is overwritten; the backup's copy goes beside a differing one, and the summary says so", async () => {
    const memory = await backup("own");
    const { state, workspace } = freshBot("own");
    mkdirSync(join(workspace, "memory"), { recursive: true });
    const ownUser = "# User\n\nName: Dana (set up again on the new instance).\n";
    const ownDay = "# 2026-11-19\n\nThe new instance's own note.\n";
    writeFileSync(join(workspace, "USER.md"), ownUser);
    writeFileSync(join(workspace, "MEMORY.md"), WORKSPACE["MEMORY.md"]);
    writeFileSync(join(workspace, "memory", "2026-11-19.md"), ownDay);
    const result = await restore(memory, state);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      readFileSync(join(workspace, "USER.md"), "utf8"),
      ownUser,
      "the bot's USER.md was overwritten",
    );
    assert.equal(readFileSync(join(workspace, "memory", "2026-11-19.md"), "utf8"), ownDay);
    const beside = `USER.md.restore-displaced-${sha256(WORKSPACE["USER.md"]).slice(0, 8)}`;
    assert.equal(readFileSync(join(workspace, beside), "utf8"), WORKSPACE["USER.md"]);
    const besideDay = `2026-11-19.md.restore-displaced-${sha256(WORKSPACE["memory/2026-11-19.md"]).slice(0, 8)}`;
    assert.equal(
      readFileSync(join(workspace, "memory", besideDay), "utf8"),
      WORKSPACE["memory/2026-11-19.md"],
    );
    assert.equal(readFileSync(join(workspace, "SOUL.md"), "utf8"), WORKSPACE["SOUL.md"]);
    assert.match(
      result.stdout,
      new RegExp(
        `~ USER\\.md → ${beside.replace(/\./g, "\\.")} {2}\\(the bot has its own USER\\.md \\(kept, not overwritten\\)`,
      ),
    );
    assert.match(result.stdout, /= MEMORY\.md {2}\(the bot has the same bytes\)/);
    const before = snapshot(state);
    const again = summaryOf(await restore(memory, state, ["--json"]));
    assert.equal(again.changed, false);
    assert.deepEqual(snapshot(state), before, "a second restore changed the bot");
  });

  test("--prefer backup: the backup's copy becomes current, the bot's own moves aside (kept); a second run changes nothing", async () => {
    const memory = await backup("prefer");
    const { state, workspace } = freshBot("prefer");
    mkdirSync(workspace, { recursive: true });
    const ownSoul = "# Soul\n\nThe template a new instance starts with.\n";
    writeFileSync(join(workspace, "SOUL.md"), ownSoul);
    const summary = summaryOf(await restore(memory, state, ["--prefer", "backup", "--json"]));
    const moved = `SOUL.md.restore-displaced-${sha256(ownSoul).slice(0, 8)}`;
    assert.deepEqual(
      summary.workspace?.files.find((f) => f.path === "SOUL.md"),
      {
        path: "SOUL.md",
        size: Buffer.byteLength(WORKSPACE["SOUL.md"]),
        action: "displace",
        target: moved,
        reason: `--prefer backup: the bot's own SOUL.md moves to ${moved}, the backup's takes its place`,
      },
    );
    assert.equal(readFileSync(join(workspace, "SOUL.md"), "utf8"), WORKSPACE["SOUL.md"]);
    assert.equal(readFileSync(join(workspace, moved), "utf8"), ownSoul, "the bot's own SOUL.md is gone");
    const before = snapshot(state);
    const again = summaryOf(await restore(memory, state, ["--prefer", "backup", "--json"]));
    assert.equal(again.changed, false);
    assert.deepEqual(snapshot(state), before);
  });

  test("--no-workspace leaves the workspace alone; a backup without workspace/ says so", async () => {
    const memory = await backup("none");
    const { state, workspace } = freshBot("none");
    const summary = summaryOf(await restore(memory, state, ["--no-workspace", "--json"]));
    assert.equal(summary.workspace?.skipped, "--no-workspace");
    assert.ok(!existsSync(workspace));
    const bare = join(tmp, "none", "bare-memory");
    cpSync(memory, bare, { recursive: true });
    rmSync(join(bare, "workspace"), { recursive: true });
    const result = await restore(bare, state);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /workspace: not restored \(the backup has no workspace\/ folder/);
  });

  test("the 2026.7.1 default workspace (~/.openclaw/workspace) is outside the volume: restored with a warning", async () => {
    const memory = await backup("default");
    const { state } = freshBot("default", { agents: {} });
    const home = join(tmp, "default", "home");
    const result = await restore(memory, state, ["--workspace", `${home}/.openclaw/workspace`, "--json"]);
    const summary = summaryOf(result);
    assert.equal(summary.workspace?.outsideStateDir, true);
    assert.match(
      result.stderr,
      /warning: the agent's workspace .*\/home\/\.openclaw\/workspace \(--workspace\) is outside the state dir .*: on Fly it is not on the volume/,
    );
    assert.equal(
      readFileSync(join(home, ".openclaw", "workspace", "MEMORY.md"), "utf8"),
      WORKSPACE["MEMORY.md"],
    );
  });

  test("a write that fails half-way leaves the bot byte-identical (sessions and workspace files placed before it are taken out)", async () => {
    const memory = await backup("fail");
    const { state, workspace } = freshBot("fail");
    // The bot has its own memory/2026-11-19.md, and a folder where the backup's copy of it must go beside it:
    // the sessions files and the other workspace files are placed first, then that link fails.
    mkdirSync(join(workspace, "memory"), { recursive: true });
    writeFileSync(join(workspace, "memory", "2026-11-19.md"), "# the bot's own\n");
    const beside = `2026-11-19.md.restore-displaced-${sha256(WORKSPACE["memory/2026-11-19.md"]).slice(0, 8)}`;
    mkdirSync(join(workspace, "memory", beside));
    const before = snapshot(state);
    const result = await restore(memory, state);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /^restore: error: the apply failed on the bot's machine: \S+\/workspace\/memory\/2026-11-19\.md\.restore-displaced-[0-9a-f]{8} appeared while restoring; nothing was changed, run restore again$/m,
    );
    assert.deepEqual(snapshot(state), before, "the failed restore left something behind");
  });
});

describe("restore maps names the backup stores escaped back to the bot's own", () => {
  test("a 255-byte topic name that is not UTF-8 arrives under its exact bytes", async () => {
    const cloud = makeStateDir(join(tmp, "names", "cloud"), { secondAgent: false });
    const sessions = cloud.agents[0].sessionsDir;
    const sessionId = cloud.agents[0].sessions[0].sessionId;
    const raw = Buffer.concat([
      Buffer.from(`${sessionId}-topic-`),
      Buffer.alloc(255 - sessionId.length - "-topic-".length - ".jsonl".length, 0xff),
      Buffer.from(".jsonl"),
    ]);
    const body = `${JSON.stringify({ type: "message", id: "m1", timestamp: "2026-11-19T10:00:00.000Z", message: { role: "user", content: "odd name" } })}\n`;
    writeFileSync(Buffer.concat([Buffer.from(`${sessions}/`), raw]), body);
    const memory = join(tmp, "names", "memory");
    const synced = await syncLocal(cloud.root, memory, ["--quiet"]);
    assert.equal(synced.code, 0, synced.stderr);
    const provenance = JSON.parse(readFileSync(join(memory, "sync-provenance.json"), "utf8"));
    const local = Object.entries(provenance.files as Record<string, { remoteNameHex?: string }>).find(
      ([, r]) => r.remoteNameHex === raw.toString("hex"),
    )?.[0];
    assert.ok(local, "sync did not store the name escaped (the premise of this test)");
    const { state } = freshBot("names");
    const summary = summaryOf(await restore(memory, state, ["--json"]));
    const there = readdirSync(join(state, "agents", "main", "sessions"), { encoding: "buffer" });
    const arrived = there.find((n) => n.equals(raw));
    assert.ok(arrived, "the file did not arrive under the bot's own name");
    assert.equal(
      readFileSync(
        Buffer.concat([Buffer.from(join(state, "agents", "main", "sessions") + "/"), raw]),
        "utf8",
      ),
      body,
    );
    assert.ok(!there.some((n) => n.toString() === local), "the escaped local name reached the bot");
    assert.ok(summary.files.some((f) => f.action === "add" && f.name.includes("%FF")));
    // Every other backed-up file arrived under its own name, and a second run finds the odd one and skips it.
    const again = summaryOf(await restore(memory, state, ["--json"]));
    assert.equal(again.changed, false);
  });
});
