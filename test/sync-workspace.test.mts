// The agent's memory files (MEMORY.md, memory/*.md, USER.md, SOUL.md, IDENTITY.md, AGENTS.md, TOOLS.md) backed up
// into memory/workspace/ by the real sync-memory.mts (--local, a state dir from scripts/dev/statedir.mts, a real git
// repository), in the sessions' transaction: a first backup (a secret redacted, other workspace files left out),
// an idle run (memory/ byte-identical, nothing to commit), an edited file updated, a file the bot lost kept,
// --dry-run --json and --no-workspace changing nothing, a workspace that is missing (a warning, never a failure),
// --workspace PATH; prune, verify and the pre-commit hook over memory/workspace/; then the real restore.mts puts the
// synced files into a recreated bot.
// Run: npx tsx test/run.mts sync-workspace
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import type { SyncSummary } from "../scripts/lib/sync/index.mts";
import type { Provenance } from "../scripts/lib/store/provenance.mts";
import type { RestoreSummary } from "../scripts/lib/restore/run.mts";
import { ROOT, runCommand, runScript, syncLocal, type RunResult } from "./helpers/run.mts";
import { tempDir } from "./helpers/tmp.mts";
import { snapshot } from "./helpers/tree.mts";

const tmp = tempDir("sync-workspace");
const KEY = `sk-ant-api03-${"A".repeat(93)}-${"B".repeat(6)}AA`;

function json(result: RunResult): SyncSummary {
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as SyncSummary;
}

function provenance(memory: string): Provenance {
  return JSON.parse(readFileSync(join(memory, "sync-provenance.json"), "utf8")) as Provenance;
}

async function git(cwd: string, ...args: string[]): Promise<RunResult> {
  const result = await runCommand("git", args, { cwd });
  assert.equal(result.code, 0, `git ${args.join(" ")}: ${result.stderr}`);
  return result;
}

async function commitAll(repo: string, message: string): Promise<void> {
  await git(repo, "add", "-A", "memory");
  await git(repo, "commit", "-q", "--no-verify", "-m", message);
}

describe("sync-memory backs up the agent's memory files into memory/workspace/", () => {
  const cloud = makeStateDir(join(tmp, "bot"), {
    secondAgent: false,
    workspace: {
      "MEMORY.md": `# Memory\n\n- Dana's key (do not share): ${KEY}\n`,
      "USER.md": "# User\n\nDana\n",
      "memory/2026-11-18.md": "# 18\n\nAtlas launch.\n",
      "BOOTSTRAP.md": "not a memory file\n",
      "memory/notes.txt": "not a memory file\n",
    },
  });
  const workspace = cloud.workspace!;
  const repo = join(tmp, "repo");
  const memory = join(repo, "memory");
  const stored = (path: string) => readFileSync(join(memory, "workspace", path), "utf8");

  test("first run: the memory files arrive with the sessions (a secret redacted), other workspace files stay out", async () => {
    mkdirSync(repo, { recursive: true });
    await git(repo, "init", "-q", "-b", "main");
    const summary = json(await syncLocal(cloud.root, memory, ["--json"]));
    assert.equal(summary.files.new, 11, "the sessions too");
    assert.equal(summary.workspace.path, workspace);
    assert.equal(summary.workspace.source, "agents.defaults.workspace in openclaw.json");
    assert.deepEqual(
      summary.workspace.changes.map((c) => [c.path, c.change]),
      [
        ["MEMORY.md", "new"],
        ["USER.md", "new"],
        ["memory/2026-11-18.md", "new"],
      ],
    );
    assert.equal(
      summary.redactions.kinds.ANTHROPIC_API_KEY,
      1,
      "the workspace's redaction is in the summary",
    );
    assert.ok(!stored("MEMORY.md").includes(KEY), "the secret reached memory/");
    assert.match(stored("MEMORY.md"), /\[REDACTED:ANTHROPIC_API_KEY\]/);
    assert.equal(stored("memory/2026-11-18.md"), "# 18\n\nAtlas launch.\n");
    assert.ok(!existsSync(join(memory, "workspace", "BOOTSTRAP.md")));
    assert.ok(!existsSync(join(memory, "workspace", "memory", "notes.txt")));
    const record = provenance(memory);
    assert.equal(Object.keys(record.files).length, 11, "the sessions' records, written together");
    assert.equal(record.workspace?.path, workspace);
    assert.equal(record.workspace?.files["MEMORY.md"].redactions, 1);
    assert.deepEqual(Object.keys(record.workspace?.files ?? {}), [
      "MEMORY.md",
      "USER.md",
      "memory/2026-11-18.md",
    ]);
    await commitAll(repo, "first sync");
  });

  test("an idle run changes nothing: memory/ byte-identical, nothing to commit", async () => {
    const before = snapshot(memory);
    const summary = json(await syncLocal(cloud.root, memory, ["--json"]));
    assert.equal(summary.provenanceWritten, false);
    assert.equal(summary.workspace.unchanged, 3);
    assert.equal(summary.workspace.new + summary.workspace.updated, 0);
    assert.deepEqual(snapshot(memory), before);
    assert.equal((await git(repo, "status", "--porcelain")).stdout, "");
  });

  test("an edited MEMORY.md is updated, a new day's file arrives, a deleted one stays in the backup", async () => {
    writeFileSync(join(workspace, "MEMORY.md"), "# Memory\n\n- Dana moved to Berlin.\n");
    writeFileSync(join(workspace, "memory", "2026-11-19.md"), "# 19\n\nReview moved.\n");
    rmSync(join(workspace, "memory", "2026-11-18.md"));
    const result = await syncLocal(cloud.root, memory);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^ {2}workspace \S+: 1 new, 1 updated, 1 unchanged, 1 kept that the bot no longer has$/m,
    );
    assert.equal(stored("MEMORY.md"), "# Memory\n\n- Dana moved to Berlin.\n");
    assert.equal(stored("memory/2026-11-19.md"), "# 19\n\nReview moved.\n");
    assert.equal(stored("memory/2026-11-18.md"), "# 18\n\nAtlas launch.\n", "absence deletes nothing");
    const record = provenance(memory).workspace!;
    assert.equal(record.files["memory/2026-11-18.md"].inCloud, false);
    assert.equal(record.files["MEMORY.md"].redactions, undefined);
    await commitAll(repo, "workspace changed");
  });

  test("--dry-run --json lists what would be added and updated, and writes nothing", async () => {
    writeFileSync(join(workspace, "USER.md"), "# User\n\nDana, Berlin\n");
    writeFileSync(join(workspace, "SOUL.md"), "# Soul\n\nCalm.\n");
    const before = snapshot(memory);
    const summary = json(await syncLocal(cloud.root, memory, ["--dry-run", "--json"]));
    assert.equal(summary.dryRun, true);
    assert.deepEqual(
      summary.workspace.changes.filter((c) => c.change !== "unchanged").map((c) => [c.path, c.change]),
      [
        ["SOUL.md", "new"],
        ["USER.md", "updated"],
      ],
    );
    const text = await syncLocal(cloud.root, memory, ["--dry-run"]);
    assert.match(text.stdout, /^ {2}new: {5}workspace\/SOUL\.md \(/m);
    assert.match(text.stdout, /^ {2}updated: workspace\/USER\.md \(/m);
    assert.deepEqual(snapshot(memory), before);
  });

  test("--no-workspace leaves memory/workspace/ and its provenance record alone while the sessions sync", async () => {
    const before = provenance(memory).workspace;
    const files = snapshot(join(memory, "workspace"));
    const transcript = cloud.agents[0].sessions[1].files[0];
    appendFileSync(
      join(cloud.agents[0].sessionsDir, transcript),
      '{"type":"custom","id":"0000cccc","parentId":null,"timestamp":"2026-11-21T00:00:00Z"}\n',
    );
    const summary = json(await syncLocal(cloud.root, memory, ["--no-workspace", "--json"]));
    assert.equal(summary.files.updated, 1);
    assert.equal(summary.provenanceWritten, true);
    assert.equal(summary.workspace.skipped, "--no-workspace");
    assert.deepEqual(summary.workspace.changes, []);
    assert.deepEqual(provenance(memory).workspace, before);
    assert.deepEqual(snapshot(join(memory, "workspace")), files);
    // The next run without it takes what changed meanwhile.
    const next = json(await syncLocal(cloud.root, memory, ["--json", "--force"]));
    assert.equal(next.workspace.new, 1);
    assert.equal(next.workspace.updated, 1);
    assert.equal(stored("USER.md"), "# User\n\nDana, Berlin\n");
    await commitAll(repo, "more");
  });

  test("prune never removes memory/workspace/; verify scans it for secrets; the pre-commit hook blocks one there", async () => {
    const files = snapshot(join(memory, "workspace"));
    const before = provenance(memory).workspace;
    const pruned = await runScript("prune.mts", ["--memory", memory, "--older-than", "1d", "--json"]);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.ok(JSON.parse(pruned.stdout).prune.length > 0, "prune removed sessions");
    assert.deepEqual(snapshot(join(memory, "workspace")), files, "the workspace files stay");
    assert.deepEqual(provenance(memory).workspace, before, "and their records");
    await commitAll(repo, "prune");

    const clean = await runScript("verify.mts", [memory]);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    const token = `ghp_${"a1B2".repeat(9)}`;
    appendFileSync(join(memory, "workspace", "MEMORY.md"), `- a token: ${token}\n`);
    const found = await runScript("verify.mts", [memory]);
    assert.equal(found.code, 1);
    assert.match(found.stdout, /memory\/workspace\/MEMORY\.md:4: error: GITHUB_TOKEN/);
    assert.ok(!(found.stdout + found.stderr).includes(token), "the secret is never printed");
    // The memory folder's allow list holds for its workspace files too, and they are checked against the provenance.
    writeFileSync(join(memory, ".secretsallow"), `${token}\n`);
    const allowed = await runScript("verify.mts", [memory]);
    assert.equal(allowed.code, 0, allowed.stdout);
    assert.match(allowed.stdout, /memory\/workspace\/MEMORY\.md: warning: changed since sync/);
    rmSync(join(memory, ".secretsallow"));

    await git(repo, "config", "core.hooksPath", join(ROOT, "hooks"));
    await git(repo, "add", "memory");
    const blocked = await runCommand("git", ["commit", "-q", "-m", "a secret"], { cwd: repo });
    assert.notEqual(blocked.code, 0, "the commit went through");
    assert.match(blocked.stdout + blocked.stderr, /memory\/workspace\/MEMORY\.md:4: error: GITHUB_TOKEN/);
    await git(repo, "reset", "-q", "--hard");
  });

  test("the volume is gone: restore --local puts the synced memory files into a recreated bot", async () => {
    const fresh = join(tmp, "recreated");
    mkdirSync(fresh, { recursive: true });
    writeFileSync(
      join(fresh, "openclaw.json"),
      JSON.stringify({
        meta: { lastTouchedVersion: "2026.7.1" },
        session: { maintenance: { mode: "warn" } },
        agents: { defaults: { workspace: join(fresh, "workspace") } },
      }),
    );
    const result = await runScript("restore.mts", [
      "--local",
      "--memory",
      memory,
      "--state-dir",
      fresh,
      "--json",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as RestoreSummary;
    const paths = ["MEMORY.md", "SOUL.md", "USER.md", "memory/2026-11-18.md", "memory/2026-11-19.md"];
    assert.deepEqual(summary.workspace?.files.filter((f) => f.action === "add").length, paths.length);
    for (const path of paths)
      assert.deepEqual(
        readFileSync(join(fresh, "workspace", path)),
        readFileSync(join(memory, "workspace", path)),
        path,
      );
  });
});

describe("where the workspace is", () => {
  test("missing on the bot: a warning says where it was looked for and why; the sessions are backed up", async () => {
    const bare = makeStateDir(join(tmp, "bare"), { secondAgent: false });
    const memory = join(tmp, "bare-memory");
    const result = await syncLocal(bare.root, memory, ["--json"]);
    const summary = json(result);
    assert.equal(summary.files.new, 11);
    assert.equal(summary.workspace.skipped, "missing on the bot");
    assert.match(
      summary.warnings.join("\n"),
      /the agent's workspace \S+\/\.openclaw\/workspace \(OpenClaw's default, ~\/\.openclaw\/workspace of the gateway's user\) does not exist on the bot, so its memory files .* were not backed up; it is outside the state dir .*, so on Fly not on the volume/,
    );
    assert.match(result.stderr, /warning: the agent's workspace/);
    assert.ok(!existsSync(join(memory, "workspace")));
    // Where it was looked for is recorded (no files), so that the next day's look-up lists that folder in the same
    // call; that next day writes nothing and warns again.
    assert.deepEqual(provenance(memory).workspace, { path: summary.workspace.path, files: {} });
    const next = await syncLocal(bare.root, memory, ["--json"]);
    assert.equal(json(next).provenanceWritten, false);
    assert.match(next.stderr, /warning: the agent's workspace/);
  });

  test("moved in openclaw.json: the next sync follows it, not the folder the last one found", async () => {
    const bot = makeStateDir(join(tmp, "moved"), {
      secondAgent: false,
      workspace: { "MEMORY.md": "# Memory\n\nold place\n" },
    });
    const memory = join(tmp, "moved-memory");
    assert.equal(json(await syncLocal(bot.root, memory, ["--json"])).workspace.path, bot.workspace);
    const moved = join(tmp, "moved-workspace");
    mkdirSync(moved);
    writeFileSync(join(moved, "MEMORY.md"), "# Memory\n\nnew place\n");
    const config = JSON.parse(readFileSync(join(bot.root, "openclaw.json"), "utf8"));
    config.agents.defaults.workspace = moved;
    writeFileSync(join(bot.root, "openclaw.json"), JSON.stringify(config, null, 2));
    const summary = json(await syncLocal(bot.root, memory, ["--json"]));
    assert.equal(summary.workspace.path, moved);
    assert.deepEqual(
      summary.workspace.changes.map((c) => [c.path, c.change]),
      [["MEMORY.md", "updated"]],
    );
    assert.equal(readFileSync(join(memory, "workspace", "MEMORY.md"), "utf8"), "# Memory\n\nnew place\n");
    assert.equal(provenance(memory).workspace?.path, moved);
  });

  test("--workspace PATH is followed over openclaw.json; with --no-workspace it is a usage error", async () => {
    const bot = makeStateDir(join(tmp, "elsewhere"), { secondAgent: false });
    const elsewhere = join(tmp, "elsewhere-workspace");
    mkdirSync(join(elsewhere, "memory"), { recursive: true });
    writeFileSync(join(elsewhere, "IDENTITY.md"), "# Identity\n\nPilot\n");
    const memory = join(tmp, "elsewhere-memory");
    const summary = json(await syncLocal(bot.root, memory, ["--workspace", elsewhere, "--json"]));
    assert.equal(summary.workspace.source, "--workspace");
    assert.equal(summary.workspace.new, 1);
    assert.equal(readFileSync(join(memory, "workspace", "IDENTITY.md"), "utf8"), "# Identity\n\nPilot\n");
    const both = await syncLocal(bot.root, memory, ["--workspace", elsewhere, "--no-workspace"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--workspace and --no-workspace cannot be combined/);
    const relative = await syncLocal(bot.root, memory, ["--workspace", "workspace"]);
    assert.equal(relative.code, 2);
    assert.match(relative.stderr, /not an absolute path on the bot/);
  });
});
