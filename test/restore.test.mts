// scripts/restore.mts against the REAL OpenClaw 2026.7.1 (file era) and 2026.9.6 (SQLite era) from .tools: a
// backup taken by the real sync is restored into (a) a fresh state dir and (b) one with its own newer sessions,
// a conflicting key and a file of the same name with other bytes. Then `openclaw sessions --json` lists every
// backed-up session and every one of the instance's own, the exporter finds every backed-up line, the instance's
// own files are untouched, and a second restore changes nothing. Failure paths leave the state dir identical.
// Run: npx tsx test/run.mts restore
// test tier: full — the real OpenClaw 2026.7.1 and 2026.9.6, Node 24 and an sshd on 127.0.0.1
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import { userInfo } from "node:os";
import { delimiter, join } from "node:path";
import { conversation, makeStateDir, rng } from "../scripts/dev/statedir.mts";
import { runCommand, runScript, syncLocal, type RunResult } from "./helpers/run.mts";
import { botBin, migrateWithOpenClaw, runExporter } from "./helpers/sqlitestate.mts";
import { fakeFly, setMachineEnv, type FakeFly } from "./helpers/fly.mts";
import { startSshd, type Sshd } from "./helpers/sshd.mts";
import { ensureTools } from "../scripts/dev/test-tools.mts";
import { classify } from "../scripts/lib/openclaw/files.mts";
import type { RestoreSummary } from "../scripts/lib/restore/run.mts";
import { tempDir } from "./helpers/tmp.mts";

ensureTools();
const root = tempDir("restore-test");
chmodSync(root, 0o755); // the gateway's user (nobody here) must reach its state dir and the openclaw command

const botPath = (version: string) => `${botBin(root, version)}${delimiter}${process.env.PATH}`;
const HOME = join(root, "home");
mkdirSync(HOME, { recursive: true });

/** Content, mode and owner of every entry below `dir`: "byte-identical" means all three. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (path: string) => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      const info = lstatSync(full);
      const rel = full.slice(dir.length + 1);
      if (info.isSymbolicLink()) out[rel] = `link ${info.uid} ${readlinkSync(full)}`;
      else if (info.isDirectory()) {
        out[`${rel}/`] = `${info.mode} ${info.uid}`;
        walk(full);
      } else
        out[rel] =
          `${info.mode} ${info.uid} ${createHash("sha256").update(readFileSync(full)).digest("hex")}`;
    }
  };
  walk(dir);
  return out;
}

// The backup: a realistic cloud (topics, forks, archives, a line caught mid-append) synced by the real sync.
const cloud = makeStateDir(join(root, "cloud"), { secondAgent: false });
const memory = join(root, "memory");
const backupSessions = join(memory, "sessions");
before(async () => {
  const synced = await syncLocal(cloud.root, memory, ["--quiet"]);
  assert.equal(synced.code, 0, synced.stderr);
});
const backupIndex = () =>
  JSON.parse(readFileSync(join(backupSessions, "sessions.json"), "utf8")) as Record<
    string,
    { sessionId: string }
  >;
const conversations = () =>
  readdirSync(backupSessions).filter((name) => ["transcript", "archive"].includes(classify(name).kind));

function restoreRun(version: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return runScript("restore.mts", ["--memory", memory, ...args], {
    env: { PATH: botPath(version), HOME, ...env },
    timeoutMs: 600_000,
  });
}

function sessionsJson(version: string, state: string): Promise<{ key: string; sessionId: string }[]> {
  return runCommand(
    join(botBin(root, version), "openclaw"),
    ["sessions", "--json", "--limit", "all", "--agent", "main"],
    {
      env: { HOME, OPENCLAW_STATE_DIR: state, OPENCLAW_CONFIG_PATH: undefined },
      cwd: HOME,
      timeoutMs: 120_000,
    },
  ).then((result) => {
    assert.equal(result.code, 0, `openclaw sessions failed: ${result.stderr}`);
    return (
      JSON.parse(result.stdout.slice(result.stdout.indexOf("{"))) as {
        sessions: { key: string; sessionId: string }[];
      }
    ).sessions;
  });
}

function summaryOf(result: RunResult): RestoreSummary {
  assert.equal(result.code, 0, `restore failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as RestoreSummary;
}

const OWN_MAIN = "0a11ce00-0000-4000-a000-000000000001";
const OWN_DM = "0a11ce00-0000-4000-a000-000000000002";

/** An instance that already has its own newer sessions: its own agent:main:main (a key the backup uses for another
 * session), a DM of its own, and a file named like one of the backup's transcripts holding other bytes. */
function instanceWithOwnSessions(
  dir: string,
  version: string,
): { sessionsDir: string; own: string[]; clash: string } {
  const sessionsDir = join(dir, "agents", "main", "sessions");
  mkdirSync(sessionsDir, { recursive: true });
  const random = rng(99);
  const now = Date.parse("2026-11-28T10:00:00Z");
  writeFileSync(
    join(sessionsDir, `${OWN_MAIN}.jsonl`),
    conversation(random, OWN_MAIN, now, 4).lines.join(""),
  );
  writeFileSync(
    join(sessionsDir, `${OWN_DM}.jsonl`),
    conversation(random, OWN_DM, now + 60_000, 2).lines.join(""),
  );
  // The backup's cron transcript name, other bytes (e.g. the new instance ran the same job id).
  const clash = `${Object.entries(backupIndex()).find(([key]) => key.startsWith("cron:"))![1].sessionId}.jsonl`;
  writeFileSync(
    join(sessionsDir, clash),
    conversation(random, clash.replace(/\.jsonl$/, ""), now, 1).lines.join(""),
  );
  writeFileSync(
    join(sessionsDir, "sessions.json"),
    JSON.stringify(
      {
        "agent:main:main": {
          sessionId: OWN_MAIN,
          updatedAt: now + 3_600_000,
          sessionFile: `${OWN_MAIN}.jsonl`,
          chatType: "direct",
        },
        "agent:main:telegram:direct:777": { sessionId: OWN_DM, updatedAt: now + 120_000, chatType: "direct" },
      },
      null,
      2,
    ),
    { mode: 0o600 },
  );
  writeFileSync(
    join(dir, "openclaw.json"),
    `${JSON.stringify({ meta: { lastTouchedVersion: version }, gateway: { mode: "local" }, agents: { defaults: { timeoutSeconds: 77 } } }, null, 2)}\n`,
    { mode: 0o600 },
  );
  return { sessionsDir, own: [`${OWN_MAIN}.jsonl`, `${OWN_DM}.jsonl`, clash], clash };
}

/** Every backed-up key is listed, as itself or (conflict) under its restore-displaced key. */
function assertListsBackup(
  listed: { key: string; sessionId: string }[],
  summary: RestoreSummary,
  canonical: (k: string) => string,
) {
  const keys = new Set(listed.map((s) => canonical(s.key)));
  for (const key of Object.keys(backupIndex())) {
    const action = summary.keys.find((k) => k.key === key);
    assert.ok(action, `restore said nothing about ${key}`);
    const written = action.action === "rename" ? action.target! : key;
    if (action.action === "skip" && action.reason === "no transcript in the backup") continue;
    assert.ok(keys.has(canonical(written)), `openclaw sessions does not list ${written} (${action.reason})`);
  }
}

/** `openclaw sessions` lists the instance's own sessions under their own keys, and every backed-up key. */
async function assertOwnStayCurrent(
  version: string,
  state: string,
  summary: RestoreSummary,
  canonical: (k: string) => string,
) {
  const listed = await sessionsJson(version, state);
  assert.equal(
    listed.find((s) => s.key === "agent:main:main")?.sessionId,
    OWN_MAIN,
    "the instance's own session is no longer current",
  );
  assert.ok(listed.some((s) => s.key === "agent:main:telegram:direct:777" && s.sessionId === OWN_DM));
  assertListsBackup(listed, summary, canonical);
}

const canonical = (key: string) => (key.startsWith("agent:") ? key : `agent:main:${key}`).toLowerCase();

/** Every line of every backed-up conversation is in what the exporter reads from the database. */
async function assertEveryLine(state: string, summary: RestoreSummary) {
  const exported = await runExporter(["stream", state, "main"]);
  assert.equal(exported.code, 0, exported.stderr);
  const lines = new Set<string>();
  for (const [name, bytes] of exported.files)
    if (name !== "sessions.json") for (const line of bytes.toString("utf8").split("\n")) lines.add(line);
  for (const name of conversations()) {
    const action = summary.files.find((f) => f.name === name)!;
    const text = readFileSync(join(backupSessions, name), "utf8").split("\n").filter(Boolean);
    if (action.headerId) text.shift();
    for (const line of text) assert.ok(lines.has(line), `a line of ${name} is not in the database`);
  }
  return exported;
}

describe("restore into the real OpenClaw 2026.7.1 (file era, --local)", () => {
  const version = "2026.7.1";

  test("(a) a fresh state dir: every backed-up file arrives byte for byte, owned like the sessions folder; a second run changes nothing", async () => {
    const state = join(root, "fresh-71");
    mkdirSync(state, { recursive: true });
    chownSync(state, 65534, 65534); // the gateway's user on the bot (node in OpenClaw's image)
    const dry = summaryOf(
      await restoreRun(version, ["--local", "--state-dir", state, "--dry-run", "--json"]),
    );
    assert.deepEqual(readdirSync(state), [], "a dry run wrote something");
    assert.match(dry.blocked ?? "", /maintenance/);
    const summary = summaryOf(
      await restoreRun(version, ["--local", "--state-dir", state, "--maintenance", "warn", "--json"]),
    );
    assert.deepEqual(
      summary.files.map((f) => [f.name, f.action]),
      dry.files.map((f) => [f.name, f.action]),
      "the dry run listed something else than the real run did",
    );
    const sessionsDir = join(state, "agents", "main", "sessions");
    for (const name of readdirSync(backupSessions).filter((n) => n !== "sessions.json")) {
      assert.deepEqual(readFileSync(join(sessionsDir, name)), readFileSync(join(backupSessions, name)), name);
      const info = lstatSync(join(sessionsDir, name));
      assert.equal(info.uid, 65534, `${name} is not owned by the sessions folder's owner`);
      assert.equal(info.mode & 0o777, 0o644, name);
    }
    assert.equal(lstatSync(join(sessionsDir, "sessions.json")).mode & 0o777, 0o600);
    assert.equal(lstatSync(join(sessionsDir, "sessions.json")).uid, 65534);
    const config = JSON.parse(readFileSync(join(state, "openclaw.json"), "utf8"));
    assert.equal(config.session.maintenance.mode, "warn");
    const index = JSON.parse(readFileSync(join(sessionsDir, "sessions.json"), "utf8")) as Record<
      string,
      { sessionFile?: string }
    >;
    for (const [key, entry] of Object.entries(index))
      if (entry.sessionFile)
        assert.ok(!entry.sessionFile.includes("/"), `${key} keeps a path: ${entry.sessionFile}`);
    assertListsBackup(await sessionsJson(version, state), summary, (k) => k.toLowerCase());
    assert.ok(summary.verified && summary.verified.files === conversations().length + 1);
    assert.match(summary.proof, /openclaw sessions --json --limit all --agent main/);

    const before = tree(state);
    const again = summaryOf(await restoreRun(version, ["--local", "--state-dir", state, "--json"]));
    assert.equal(again.changed, false);
    assert.equal(again.counts.add + again.counts.rename, 0);
    assert.deepEqual(tree(state), before, "a second restore changed the state dir");
  });

  test("(b) an instance with its own newer sessions: they stay current and untouched, the backup's go beside them", async () => {
    const state = join(root, "own-71");
    const own = instanceWithOwnSessions(state, version);
    const ownBytes = own.own.map((n) => readFileSync(join(own.sessionsDir, n)));
    const result = await restoreRun(version, [
      "--local",
      "--state-dir",
      state,
      "--maintenance",
      "warn",
      "--json",
    ]);
    const summary = summaryOf(result);
    own.own.forEach((n, i) =>
      assert.deepEqual(readFileSync(join(own.sessionsDir, n)), ownBytes[i], `${n} was changed`),
    );
    const clash = summary.files.find((f) => f.name === own.clash)!;
    assert.equal(clash.action, "rename");
    assert.deepEqual(
      readFileSync(join(own.sessionsDir, clash.target!)),
      readFileSync(join(backupSessions, own.clash)),
    );
    const main = summary.keys.find((k) => k.key === "agent:main:main")!;
    assert.equal(main.action, "rename");
    assert.equal(main.target, `agent:main:restore-displaced:${backupIndex()["agent:main:main"].sessionId}`);
    await assertOwnStayCurrent(version, state, summary, (k) => k.toLowerCase());
    const index = JSON.parse(readFileSync(join(own.sessionsDir, "sessions.json"), "utf8"));
    assert.equal(index["agent:main:main"].updatedAt, Date.parse("2026-11-28T11:00:00Z"), "updatedAt moved");
    const config = JSON.parse(readFileSync(join(state, "openclaw.json"), "utf8"));
    assert.equal(config.agents.defaults.timeoutSeconds, 77, "restore lost a setting of openclaw.json");
    const before = tree(state);
    summaryOf(await restoreRun(version, ["--local", "--state-dir", state, "--json"]));
    assert.deepEqual(tree(state), before, "a second restore changed the state dir");
  });

  test("maintenance in enforce mode: refused with one sentence, the state dir byte-identical", async () => {
    const state = join(root, "enforce-71");
    instanceWithOwnSessions(state, version);
    const before = tree(state);
    const result = await restoreRun(version, ["--local", "--state-dir", state]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /restore: error: session\.maintenance\.mode .* --maintenance warn .* --accept-maintenance/,
    );
    assert.equal(
      result.stderr
        .trim()
        .split("\n")
        .filter((l) => l.startsWith("restore: error")).length,
      1,
    );
    assert.deepEqual(tree(state), before);
  });

  test("disk full on the bot: refused with one sentence before anything is written", async () => {
    const state = join(root, "full-71");
    mkdirSync(state, { recursive: true });
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=24k", "tmpfs", state]);
    assert.equal(mounted.status, 0, `this test mounts a small tmpfs (needs root): ${mounted.stderr}`);
    try {
      writeFileSync(join(state, "openclaw.json"), JSON.stringify({ meta: { lastTouchedVersion: version } }));
      const before = tree(state);
      const result = await restoreRun(version, ["--local", "--state-dir", state, "--maintenance", "warn"]);
      assert.equal(result.code, 1, result.stdout);
      assert.match(
        result.stderr,
        /restore: error: the bot's volume has .* free and restoring needs about .*nothing was changed/,
      );
      assert.deepEqual(tree(state), before);
    } finally {
      spawnSync("umount", [state]);
    }
  });
});

describe("restore into the real OpenClaw 2026.9.6 (SQLite era, --local)", () => {
  const version = "2026.9.6";
  test("(a) a fresh state dir: the importer takes everything, every line is in the database, nothing is left in sessions/", async () => {
    const state = join(root, "fresh-96");
    mkdirSync(state, { recursive: true });
    const dry = summaryOf(
      await restoreRun(version, ["--local", "--state-dir", state, "--dry-run", "--json"]),
    );
    assert.deepEqual(readdirSync(state), []);
    const summary = summaryOf(await restoreRun(version, ["--local", "--state-dir", state, "--json"]));
    assert.deepEqual(
      summary.files.map((f) => [f.name, f.action]),
      dry.files.map((f) => [f.name, f.action]),
    );
    assert.equal(summary.era, "sqlite");
    assert.equal(summary.doctor?.status, 0);
    assert.deepEqual(
      readdirSync(join(state, "agents", "main", "sessions")),
      [],
      "legacy files left in sessions/",
    );
    assert.deepEqual(
      readdirSync(state).filter((n) => n.startsWith(".ocsync-restore")),
      [],
    );
    assertListsBackup(await sessionsJson(version, state), summary, canonical);
    await assertEveryLine(state, summary);
    const before = tree(join(state, "agents"));
    const again = summaryOf(await restoreRun(version, ["--local", "--state-dir", state, "--json"]));
    assert.equal(again.changed, false);
    assert.deepEqual(tree(join(state, "agents")), before, "a second restore changed the database");
  });

  test("(b) an upgraded instance with its own sessions and a conflicting key: its own stay current, the backup's are added", async () => {
    const state = join(root, "own-96");
    instanceWithOwnSessions(state, version);
    await migrateWithOpenClaw(state, HOME); // the instance's own sessions now live in its database
    const own = await runExporter(["stream", state, "main"]);
    const summary = summaryOf(await restoreRun(version, ["--local", "--state-dir", state, "--json"]));
    await assertOwnStayCurrent(version, state, summary, canonical);
    const exported = await assertEveryLine(state, summary);
    for (const [name, bytes] of own.files)
      if (name !== "sessions.json")
        assert.deepEqual(exported.files.get(name), bytes, `the instance's own ${name} changed`);
  });

  test("gateway running: refused with the commands to stop and start it, the state dir byte-identical", async () => {
    const state = join(root, "running-96");
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, "openclaw.json"), JSON.stringify({ meta: { lastTouchedVersion: version } }));
    // OpenClaw's gateway lock (gateway-lock: STATE/tmp/openclaw-<uid>/gateway.state.lock) held by a live process.
    const holder: ChildProcess = spawn("sleep", ["300"]);
    try {
      const lockDir = join(state, "tmp", `openclaw-${process.getuid!()}`);
      mkdirSync(lockDir, { recursive: true });
      writeFileSync(
        join(lockDir, "gateway.state.lock"),
        JSON.stringify({ pid: holder.pid, createdAt: new Date().toISOString(), port: 18789 }),
      );
      const before = tree(state);
      const result = await restoreRun(version, ["--local", "--state-dir", state]);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        new RegExp(
          `restore: error: the OpenClaw gateway \\(pid ${holder.pid}\\) is running .* Stop it .*start it`,
        ),
      );
      assert.deepEqual(tree(state), before);
    } finally {
      holder.kill();
    }
  });
});

describe("restore over a real OpenSSH server on 127.0.0.1 and the fake flyctl (file era)", () => {
  const version = "2026.7.1";
  const dir = join(root, "ssh");
  let sshd: Sshd | undefined;
  let sshArgs: string[] = [];

  before(async () => {
    sshd = await startSshd(dir);
    sshArgs = [
      "--ssh",
      `${userInfo().username}@127.0.0.1:${sshd.port}`,
      ...sshd.clientOptions.flatMap((o) => ["--ssh-option", o]),
    ];
  });
  after(() => sshd?.stop());

  /** restore --app my-bot over the fake flyctl into the bot's `state`, with --json; its summary. */
  async function restoreOverFly(fly: FakeFly, state: string, timeoutMs?: number): Promise<RestoreSummary> {
    return summaryOf(
      await runScript(
        "restore.mts",
        ["--app", "my-bot", "--state-dir", state, "--memory", memory, "--json"],
        {
          env: { ...fly.env, HOME },
          timeoutMs,
        },
      ),
    );
  }

  /** A recreated bot: OpenClaw ran once (openclaw.json), no sessions yet. */
  function recreated(name: string): string {
    const state = join(dir, name);
    mkdirSync(state, { recursive: true });
    writeFileSync(
      join(state, "openclaw.json"),
      `${JSON.stringify({ meta: { lastTouchedVersion: version }, session: { maintenance: { mode: "warn" } } }, null, 2)}\n`,
    );
    return state;
  }

  test("over ssh: every file arrives byte for byte, then a second run changes nothing", async () => {
    const state = recreated("ssh-state");
    const summary = summaryOf(await restoreRun(version, [...sshArgs, "--state-dir", state, "--json"]));
    assert.equal(summary.transport, "ssh");
    for (const name of conversations())
      assert.deepEqual(
        readFileSync(join(state, "agents", "main", "sessions", name)),
        readFileSync(join(backupSessions, name)),
      );
    assertListsBackup(await sessionsJson(version, state), summary, (k) => k.toLowerCase());
    const before = tree(state);
    const again = summaryOf(await restoreRun(version, [...sshArgs, "--state-dir", state, "--json"]));
    assert.equal(again.changed, false);
    assert.deepEqual(tree(state), before);
  });

  /** An ssh that passes the bundle's first 1000 bytes on and then drops the connection (255) or ends quietly (0). */
  function cuttingSsh(exitCode: number): string {
    const path = join(dir, `ssh-cut-${exitCode}`);
    writeFileSync(
      path,
      `#!/bin/sh
case "$*" in
  *'cat >'*) head -c 1000 | ssh "$@" ; [ ${exitCode} = 0 ] && exit 0; echo "client_loop: send disconnect: Broken pipe" >&2; exit 255 ;;
  *) exec ssh "$@" ;;
esac
`,
      { mode: 0o755 },
    );
    return path;
  }

  test("transfer cut: one sentence, the bot's state dir byte-identical (no staging folder left)", async () => {
    const state = recreated("cut-state");
    const before = tree(state);
    const result = await restoreRun(version, [...sshArgs, "--state-dir", state], {
      OCSYNC_SSH: cuttingSsh(255),
    });
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stderr, /restore: error: .*nothing was changed on the bot/);
    assert.equal(
      result.stderr
        .trim()
        .split("\n")
        .filter((l) => l.startsWith("restore:")).length,
      1,
      result.stderr,
    );
    assert.deepEqual(tree(state), before);
  });

  test("hash mismatch on the bot (a transfer that ended early but reported success): one sentence, byte-identical", async () => {
    const state = recreated("mismatch-state");
    const before = tree(state);
    const result = await restoreRun(version, [...sshArgs, "--state-dir", state], {
      OCSYNC_SSH: cuttingSsh(0),
    });
    assert.equal(result.code, 1, result.stdout);
    assert.match(
      result.stderr,
      /restore: error: .*the bundle arrived damaged on the bot \(sha256 [0-9a-f]{64}, expected [0-9a-f]{64}\); nothing was changed/,
    );
    assert.deepEqual(tree(state), before);
  });

  test("over the fake flyctl: the machine is chosen as for sync, the history arrives, a second run changes nothing", async () => {
    const state = recreated("fly-state");
    const fly = fakeFly(join(dir, "fly"), state);
    setMachineEnv(fly, { PATH: botPath(version) });
    const summary = await restoreOverFly(fly, state, 300_000);
    assert.equal(summary.transport, "fly");
    assert.match(summary.proof, /^fly ssh console -a my-bot --machine 148e6d4c2e9d89/);
    for (const name of conversations())
      assert.deepEqual(
        readFileSync(join(state, "agents", "main", "sessions", name)),
        readFileSync(join(backupSessions, name)),
      );
    assert.ok(
      fly.calls().some((call) => call.includes("-C") && call.join(" ").includes("cat >")),
      "no separate receive call",
    );
    const before = tree(state);
    const again = await restoreOverFly(fly, state);
    assert.equal(again.changed, false);
    assert.deepEqual(tree(state), before);
  });

  test("a SQLite-era bot over the fake flyctl: imported by the bot's own doctor, every line checked", async () => {
    const state = join(dir, "fly-sqlite-state");
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, "openclaw.json"), JSON.stringify({ meta: { lastTouchedVersion: "2026.9.6" } }));
    // The gateway's user owns the volume (node in OpenClaw's image); flyctl's ssh session is root.
    chownSync(state, 65534, 65534);
    chownSync(join(state, "openclaw.json"), 65534, 65534);
    const fly = fakeFly(join(dir, "fly-sqlite"), state);
    setMachineEnv(fly, { PATH: botPath("2026.9.6") });
    const summary = await restoreOverFly(fly, state, 600_000);
    assert.equal(summary.transport, "fly");
    assert.equal(summary.era, "sqlite");
    assert.equal(summary.doctor?.status, 0);
    assert.deepEqual(readdirSync(join(state, "agents", "main", "sessions")), []);
    const rootOwned = Object.entries(tree(state)).filter(([, info]) => info.split(" ")[1] !== "65534");
    assert.deepEqual(rootOwned, [], "files the gateway's user does not own (doctor must run as that user)");
    assertListsBackup(await sessionsJson("2026.9.6", state), summary, canonical);
    await assertEveryLine(state, summary);
  });
});
