// scripts/local-state.mts against the REAL OpenClaw 2026.7.1 (file era) and 2026.9.6 (SQLite era), installed by
// scripts/dev/test-tools.mts: after local-state, `openclaw sessions --json` lists every synced conversation and
// `openclaw sessions export-trajectory` finds each transcript with all its events (topics and forks included).
// The memory folder is hashed around every run: local-state must never change it.
// Run: npx tsx test/run.mts local-state
// test tier: full — the real OpenClaw 2026.7.1 and 2026.9.6 and Node 24 from .tools
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { conversation, makeStateDir } from "../scripts/dev/statedir.mts";
import { ROOT, runCommand, runScript, type RunResult } from "./helpers/run.mts";
import { ensureTools, toolPath } from "../scripts/dev/test-tools.mts";
import { classify } from "../scripts/lib/openclaw/files.mts";
import type { LocalStateReport } from "../scripts/lib/local-state.mts";
import { freePort } from "./helpers/ports.mts";
import { tempDir } from "./helpers/tmp.mts";

ensureTools();
const NODE24 = toolPath("node24");
const VERSIONS = ["2026.7.1", "2026.9.6"] as const;
const openclawCommand = (version: string) => `${NODE24} ${toolPath(`openclaw-${version}`)}`;

const root = tempDir("local-state");

/** A memory folder as sync leaves it: the backed-up files of one agent, complete lines only, plus a transcript
 * the cloud's index no longer names (sync keeps what the cloud dropped). */
function makeMemory(dir: string): string {
  const state = makeStateDir(join(dir, "cloud"), { secondAgent: false });
  const agent = state.agents[0];
  const sessions = join(dir, "memory", "sessions");
  mkdirSync(sessions, { recursive: true });
  for (const name of agent.backedUp) copyFileSync(join(agent.sessionsDir, name), join(sessions, name));
  if (agent.partial) {
    const [file, partial] = agent.partial;
    const text = readFileSync(join(sessions, file), "utf8");
    writeFileSync(join(sessions, file), text.slice(0, text.length - partial.length));
  }
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const orphan = "0c0ffee0-1111-4222-a333-444455556666";
  writeFileSync(
    join(sessions, `${orphan}.jsonl`),
    conversation(random, orphan, Date.parse("2026-09-01T10:00:00Z"), 2).lines.join(""),
  );
  return join(dir, "memory");
}

function treeHash(dir: string): string {
  const hash = createHash("sha256");
  const walk = (path: string) => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      const info = lstatSync(full);
      hash.update(`${full}\0${info.mode}\0`);
      if (info.isDirectory()) walk(full);
      else hash.update(readFileSync(full));
    }
  };
  walk(dir);
  return hash.digest("hex");
}

const memory = makeMemory(join(root, "m"));
const memorySessions = join(memory, "sessions");
const memoryHash = treeHash(memory);

/** Runs local-state and checks that the memory folder is byte-for-byte what it was. */
async function localState(args: string[], home: string): Promise<RunResult> {
  mkdirSync(home, { recursive: true });
  const result = await runScript("local-state.mts", ["--memory", memory, ...args], {
    env: { HOME: home },
    timeoutMs: 300_000,
  });
  assert.equal(treeHash(memory), memoryHash, "local-state changed the memory folder");
  return result;
}

function openclaw(version: string, args: string[], out: string, home: string): Promise<RunResult> {
  return runCommand(NODE24, [toolPath(`openclaw-${version}`), ...args], {
    env: { HOME: home, OPENCLAW_STATE_DIR: out, OPENCLAW_CONFIG_PATH: undefined },
    cwd: home,
    timeoutMs: 120_000,
  });
}

function parseJson<T>(result: RunResult, what: string): T {
  assert.equal(result.code, 0, `${what} failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout.slice(result.stdout.indexOf("{"))) as T;
}

/** Transcript events as OpenClaw counts them: every parseable line except the `session` header. */
function events(file: string): number {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => {
      try {
        return (JSON.parse(line) as { type?: string }).type !== "session";
      } catch {
        return false;
      }
    }).length;
}

/** SQLite-era builds canonicalize keys: lowercase, and an `agent:<id>:` prefix on bare keys like `cron:...`. */
const canonical = (key: string) => (key.startsWith("agent:") ? key : `agent:main:${key}`).toLowerCase();

const conversations = readdirSync(memorySessions).filter((name) =>
  ["transcript", "archive"].includes(classify(name).kind),
);

async function inPairs<T>(items: T[], job: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += 2) await Promise.all(items.slice(i, i + 2).map(job));
}

for (const version of VERSIONS) {
  describe(`with the real OpenClaw ${version}`, () => {
    const out = join(root, `out-${version}`);
    const home = join(root, `home-${version}`);
    let report: LocalStateReport;
    let listed: { key: string; sessionId: string }[];

    before(async () => {
      const result = await localState(["--out", out, "--openclaw", openclawCommand(version), "--json"], home);
      report = parseJson<LocalStateReport>(result, "local-state");
      const sessions = parseJson<{ sessions: { key: string; sessionId: string }[] }>(
        await openclaw(version, ["sessions", "--json", "--limit", "all"], out, home),
        "openclaw sessions --json",
      );
      listed = sessions.sessions;
    });

    test("reports the version, its storage era and, for SQLite, what its doctor imported", () => {
      assert.equal(report.openclaw.found, true);
      assert.equal(report.openclaw.version, version);
      assert.equal(report.remaining.length, 0, report.remaining.join("; "));
      assert.match(
        report.startCommand,
        new RegExp(
          `^OPENCLAW_STATE_DIR=${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} .*openclaw\\.mjs gateway --bind loopback$`,
        ),
      );
      if (version === "2026.7.1") {
        assert.equal(report.openclaw.era, "files");
        assert.equal(report.openclaw.imported, undefined);
      } else {
        assert.equal(report.openclaw.era, "sqlite");
        assert.equal(report.openclaw.imported?.sessions, report.sessions.length);
        assert.equal(report.openclaw.imported?.listed, report.sessions.length);
        assert.deepEqual(report.openclaw.imported?.issues, []);
        assert.ok(existsSync(join(out, "agents", "main", "agent", "openclaw-agent.sqlite")));
      }
    });

    test("OUT holds copies (no links into memory/), bare sessionFile names and warn-mode maintenance", () => {
      const memoryInodes = new Set(
        readdirSync(memorySessions).map((name) => statSync(join(memorySessions, name)).ino),
      );
      const walk = (path: string) => {
        for (const name of readdirSync(path)) {
          const full = join(path, name);
          const info = lstatSync(full);
          // OpenClaw links its own plugin files; nothing may link into memory/.
          if (info.isSymbolicLink()) {
            assert.ok(!full.startsWith(join(out, "agents")), `${full} is a symbolic link`);
            const target = realpathSync(full);
            assert.ok(!target.startsWith(`${memory}/`), `${full} is a symbolic link into memory/`);
            continue;
          }
          if (info.isDirectory()) walk(full);
          else assert.ok(!memoryInodes.has(info.ino), `${full} is a hard link into memory/`);
        }
      };
      walk(out);
      const config = JSON.parse(readFileSync(join(out, "openclaw.json"), "utf8"));
      assert.equal(config.session.maintenance.mode, "warn");
      if (version === "2026.7.1") {
        const index = JSON.parse(
          readFileSync(join(out, "agents", "main", "sessions", "sessions.json"), "utf8"),
        );
        for (const [key, entry] of Object.entries<{ sessionFile?: string }>(index)) {
          assert.ok(
            entry.sessionFile && !/[\\/]/.test(entry.sessionFile),
            `${key}: sessionFile ${entry.sessionFile}`,
          );
          assert.ok(
            existsSync(join(out, "agents", "main", "sessions", entry.sessionFile)),
            `${key}: ${entry.sessionFile} missing`,
          );
        }
      }
    });

    test("`openclaw sessions --json` lists every synced conversation", () => {
      const keys = new Set(listed.map((session) => canonical(session.key)));
      assert.deepEqual(
        report.sessions.map((s) => s.source).sort(),
        [...conversations].sort(),
        "every conversation file has one session",
      );
      for (const session of report.sessions)
        assert.ok(keys.has(canonical(session.key)), `${session.key} (${session.source}) is not listed`);
      assert.equal(listed.length, conversations.length);
    });

    test("`openclaw sessions export-trajectory` finds each transcript with all its events, topics and forks included", async () => {
      const byKey = new Map(listed.map((session) => [canonical(session.key), session.key]));
      const kinds = new Set<string>();
      await inPairs(report.sessions, async (session) => {
        const key = byKey.get(canonical(session.key))!;
        const workspace = mkdtempSync(join(root, "ws-"));
        const exported = parseJson<{ eventCount: number; transcriptEventCount: number }>(
          await openclaw(
            version,
            ["sessions", "export-trajectory", "--session-key", key, "--workspace", workspace, "--json"],
            out,
            home,
          ),
          `export-trajectory ${key}`,
        );
        assert.equal(
          exported.transcriptEventCount,
          events(join(memorySessions, session.source!)),
          `${key} (${session.source})`,
        );
        const info = classify(session.source!);
        kinds.add(info.topic !== undefined ? "topic" : info.forkedAt ? "fork" : info.kind);
      });
      assert.deepEqual([...kinds].sort(), ["archive", "fork", "topic", "transcript"]);
    });

    if (version === "2026.9.6") {
      test("--refresh of an unchanged SQLite-era state dir imports the history again, nothing kept aside", async () => {
        const result = await localState(
          ["--out", out, "--openclaw", openclawCommand(version), "--refresh", "--json"],
          home,
        );
        const refreshed = parseJson<LocalStateReport>(result, "local-state --refresh");
        assert.deepEqual(refreshed.refresh, { keptLocalChanges: [] });
        assert.equal(refreshed.openclaw.imported?.listed, conversations.length);
        assert.deepEqual(refreshed.openclaw.imported?.issues, []);
        assert.equal(readdirSync(root).filter((name) => name.startsWith(`out-${version}.`)).length, 0);
      });

      test("--refresh keeps the previous database aside when it cannot compare it (no OpenClaw)", async () => {
        const result = await localState(
          ["--out", out, "--openclaw", join(root, "no-such-openclaw"), "--refresh"],
          home,
        );
        assert.equal(result.code, 0, result.stderr);
        const aside = readdirSync(root).filter((name) => name.startsWith(`out-${version}.before-refresh-`));
        assert.equal(aside.length, 1);
        assert.ok(existsSync(join(root, aside[0], "agents", "main", "agent", "openclaw-agent.sqlite")));
        assert.match(result.stdout, /kept the previous state dir at/);
        assert.match(result.stdout, /Remaining step: .*doctor --fix --yes --non-interactive/);
      });
    }

    if (version === "2026.7.1") {
      // OpenClaw 2026.7.1 accepts `gateway --bind loopback` (src/cli/gateway-cli/run-command.ts: --bind
      // loopback|lan|tailnet|auto|custom); without it a gateway in a container binds to every address and refuses
      // to start without auth. Last in this group: the gateway writes into OUT.
      test("the start command it prints starts the real gateway, listening on 127.0.0.1 only", async () => {
        const port = await freePort();
        const gateway = spawn("sh", ["-c", `${report.startCommand} --port ${port}`], {
          cwd: home,
          env: { ...process.env, HOME: home, OPENCLAW_CONFIG_PATH: undefined, NO_COLOR: "1" },
          detached: true, // its own process group: the sh and the gateway end together
          stdio: ["ignore", "pipe", "pipe"],
        });
        let output = "";
        gateway.stdout.on("data", (chunk: Buffer) => (output += chunk));
        gateway.stderr.on("data", (chunk: Buffer) => (output += chunk));
        const exited = new Promise((resolve) => gateway.once("exit", resolve));
        try {
          const until = Date.now() + 240_000;
          while (!listeners(port).length) {
            assert.equal(gateway.exitCode, null, `the gateway exited (${gateway.exitCode}): ${output}`);
            assert.ok(
              Date.now() < until,
              `the gateway did not listen on port ${port} within 240 s: ${output}`,
            );
            await new Promise((resolve) => setTimeout(resolve, 500));
          }
          assert.deepEqual(
            [...new Set(listeners(port))],
            ["loopback"],
            `every socket listening on port ${port} is on a loopback address`,
          );
          assert.doesNotMatch(output, /Refusing to bind/);
        } finally {
          process.kill(-gateway.pid!, "SIGTERM");
          await exited;
        }
      });
    }
  });
}

/** The sockets listening on `port` (Linux /proc/net/tcp and tcp6), each as "loopback" or its address. */
function listeners(port: number): string[] {
  const found: string[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== "0A" || !local) continue; // 0A: LISTEN
      const [address, hexPort] = local.split(":");
      if (parseInt(hexPort, 16) !== port) continue;
      const loopback = address === "0100007F" || address === "00000000000000000000000001000000"; // 127.0.0.1, ::1
      found.push(loopback ? "loopback" : address);
    }
  }
  return found;
}

describe("--refresh with a file-era gateway", () => {
  const out = join(root, "out-refresh");
  const home = join(root, "home-refresh");
  const sessions = join(out, "agents", "main", "sessions");

  test("rebuilds from the history and keeps what the local gateway added or changed", async () => {
    const first = await localState(["--out", out, "--openclaw", openclawCommand("2026.7.1")], home);
    assert.equal(first.code, 0, first.stderr);
    // The local gateway starts a new conversation and appends to a synced one.
    const index = JSON.parse(readFileSync(join(sessions, "sessions.json"), "utf8"));
    const localId = "10ca1000-aaaa-4bbb-8ccc-dddddddddddd";
    let seed = 3;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    writeFileSync(
      join(sessions, `${localId}.jsonl`),
      conversation(random, localId, Date.now(), 1).lines.join(""),
    );
    index["agent:main:local-chat"] = {
      sessionId: localId,
      updatedAt: Date.now(),
      sessionFile: `${localId}.jsonl`,
    };
    writeFileSync(join(sessions, "sessions.json"), JSON.stringify(index, null, 2));
    const [appendedKey, appended] = Object.entries<{ sessionFile: string }>(index).find(
      ([key]) => key === "agent:main:main",
    )!;
    appendFileSync(
      join(sessions, appended.sessionFile),
      '{"type":"custom","id":"10ca1001","parentId":null,"timestamp":"2026-11-24T10:00:00.000Z","customType":"local"}\n',
    );
    const appendedText = readFileSync(join(sessions, appended.sessionFile), "utf8");

    const second = await localState(
      ["--out", out, "--openclaw", openclawCommand("2026.7.1"), "--refresh"],
      home,
    );
    assert.equal(second.code, 0, second.stderr);
    assert.match(
      second.stdout,
      /changed files since the last build; kept them: new file 10ca1000-.*changed file/,
    );
    const rebuilt = JSON.parse(readFileSync(join(sessions, "sessions.json"), "utf8"));
    assert.equal(rebuilt["agent:main:local-chat"]?.sessionId, localId);
    assert.equal(readFileSync(join(sessions, appended.sessionFile), "utf8"), appendedText);
    assert.ok(rebuilt[appendedKey]);
    assert.equal(
      readdirSync(root).filter((name) => name.startsWith("out-refresh.")).length,
      0,
      "no leftovers beside OUT",
    );

    const listedResult = await openclaw("2026.7.1", ["sessions", "--json", "--limit", "all"], out, home);
    const listed = parseJson<{ sessions: { key: string }[] }>(listedResult, "openclaw sessions --json");
    assert.ok(listed.sessions.some((session) => session.key === "agent:main:local-chat"));
    assert.equal(listed.sessions.length, conversations.length + 1);
  });
});

describe("guards, config and usage", () => {
  const home = join(root, "home-guards");

  test("an OUT inside memory/, or one that contains it, is refused with one sentence and exit 1", async () => {
    for (const out of [join(memory, "local"), memory, join(root, "m")]) {
      const result = await localState(["--out", out, "--openclaw", join(root, "none")], home);
      assert.equal(result.code, 1, `${out}: ${result.stderr}`);
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
      assert.match(result.stderr, /memory folder/);
    }
  });

  test("an existing OUT needs --refresh; a folder it did not build is never replaced", async () => {
    const out = join(root, "out-plain");
    assert.equal((await localState(["--out", out, "--openclaw", join(root, "none")], home)).code, 0);
    const again = await localState(["--out", out, "--openclaw", join(root, "none")], home);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /--refresh/);
    const foreign = join(root, "foreign");
    mkdirSync(foreign);
    writeFileSync(join(foreign, "notes.txt"), "mine");
    const refused = await localState(["--out", foreign, "--refresh", "--openclaw", join(root, "none")], home);
    assert.equal(refused.code, 1);
    assert.equal(readFileSync(join(foreign, "notes.txt"), "utf8"), "mine");
  });

  test("without OpenClaw it builds OUT and says which step remains", async () => {
    const result = await localState(
      ["--out", join(root, "out-none"), "--openclaw", join(root, "none"), "--json"],
      home,
    );
    const report = parseJson<LocalStateReport>(result, "local-state");
    assert.equal(report.openclaw.found, false);
    assert.match(report.remaining.join(" "), /doctor --fix --yes --non-interactive/);
    assert.match(report.startCommand, /^OPENCLAW_STATE_DIR=.* openclaw gateway --bind loopback$/);
  });

  test("--config is merged; a changed setting is reported, the user's other settings and file stay", async () => {
    const config = join(root, "my-openclaw.json");
    const text = JSON.stringify({
      session: { maintenance: { mode: "enforce", pruneAfter: "90d" } },
      agents: { defaults: { model: "x/y" } },
    });
    writeFileSync(config, text);
    const out = join(root, "out-config");
    const result = await localState(
      ["--out", out, "--openclaw", join(root, "none"), "--config", config],
      home,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /changed session\.maintenance\.mode from "enforce"/);
    const merged = JSON.parse(readFileSync(join(out, "openclaw.json"), "utf8"));
    assert.equal(merged.session.maintenance.mode, "warn");
    assert.equal(merged.session.maintenance.pruneAfter, "90d");
    assert.equal(merged.agents.defaults.model, "x/y");
    assert.equal(readFileSync(config, "utf8"), text);
  });

  test("--help exits 0, an unknown flag exits 2 (also under Deno)", async () => {
    const help = await runScript("local-state.mts", ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: /);
    const bad = await runScript("local-state.mts", ["--nope"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--nope/);
    const deno = await runCommand(
      join(ROOT, "node_modules", ".bin", "deno"),
      ["run", "-A", join(ROOT, "scripts", "local-state.mts"), "--help"],
      {
        env: { DENO_NO_UPDATE_CHECK: "1" },
      },
    );
    assert.equal(deno.code, 0, deno.stderr);
    assert.match(deno.stdout, /^Usage: /);
  });
});
