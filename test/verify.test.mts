// verify.mts run as a child process over real files: every problem class at its exact line and byte, the
// index checks, provenance, .syncignore, --json, exit codes.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { JsonlValidator } from "../scripts/lib/jsonl.mts";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { runScript } from "./helpers/run.mts";
import { HEADER, LINE } from "./helpers/lines.mts";
import { tempDir } from "./helpers/tmp.mts";

function memoryDir(): { root: string; sessions: string } {
  const root = tempDir("verify");
  const sessions = join(root, "memory", "sessions");
  mkdirSync(sessions, { recursive: true });
  return { root, sessions };
}

/** A generated file-era sessions folder copied into <root>/memory/sessions, without transient files. */
function realisticMemory(options: Parameters<typeof makeStateDir>[1] = {}) {
  const { root, sessions } = memoryDir();
  const state = makeStateDir(join(root, "state"), { partialLastLine: false, secondAgent: false, ...options });
  const agent = state.agents[0];
  for (const name of agent.backedUp) cpSync(join(agent.sessionsDir, name), join(sessions, name));
  rmSync(join(root, "state"), { recursive: true });
  return { root, sessions, agent };
}

describe("verify: transcript problems, each with its line and byte", () => {
  test("every class is reported, the run goes on, exit 1", async () => {
    const { root, sessions } = memoryDir();
    const parts: Array<string | Buffer> = [
      `${HEADER}\n`, // 1
      `${LINE}\n`, // 2
      "\n", // 3 empty
      '{"type":"message","id":\n', // 4 invalid JSON
      "[1,2,3]\n", // 5 not an object
      Buffer.from([0, 0, 0, 0, 0x0a]), // 6 NUL padding
      Buffer.concat([
        Buffer.from('{"type":"custom","data":"caf'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"}\n'),
      ]), // 7 invalid UTF-8
      `${LINE}\n`, // 8
      '{"type":"message","id":"ab', // 9 truncated last line
    ];
    const bytes = Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part) : part)));
    writeFileSync(join(sessions, "s1.jsonl"), bytes);
    const offsetOf = (line: number) =>
      parts.slice(0, line - 1).reduce((sum, part) => sum + Buffer.byteLength(part), 0);
    const result = await runScript("verify.mts", ["memory/sessions/s1.jsonl"], { cwd: root });
    assert.equal(result.code, 1);
    const path = "memory/sessions/s1.jsonl";
    const lines = result.stdout.trim().split("\n");
    assert.deepEqual(
      lines.map((line) => line.replace(/: (error|warning): .*$/, ": $1")),
      [
        `${path}:3:${offsetOf(3)}: warning`,
        `${path}:4:${offsetOf(4)}: error`,
        `${path}:5:${offsetOf(5)}: error`,
        `${path}:6:${offsetOf(6)}: error`,
        `${path}:7:${offsetOf(7) + '{"type":"custom","data":"caf'.length}: error`,
        `${path}:9:${offsetOf(9)}: error`,
      ],
    );
    assert.match(lines[0], /empty line/);
    assert.match(lines[1], /invalid JSON \(corrupted line\)/);
    assert.match(lines[2], /not a JSON object \(an array\)/);
    assert.match(lines[3], /NUL padding \(4 bytes\)/);
    assert.match(lines[4], /invalid UTF-8/);
    assert.match(lines[5], /truncated last line/);
    assert.match(result.stderr, /1 file .*: 5 errors, 1 warning/);
  });

  test("a header of type session without an id is an error at 1:0; headerless files are fine", async () => {
    const { root, sessions } = memoryDir();
    writeFileSync(join(sessions, "a.jsonl"), `${JSON.stringify({ type: "session", version: 3 })}\n${LINE}\n`);
    writeFileSync(
      join(sessions, "b.jsonl.reset.2026-04-07T02-04-55.264Z"),
      `${LINE}\n${JSON.stringify({ type: "future_type", x: 1 })}\n`,
    );
    const result = await runScript(
      "verify.mts",
      ["memory/sessions/a.jsonl", "memory/sessions/b.jsonl.reset.2026-04-07T02-04-55.264Z"],
      { cwd: root },
    );
    assert.equal(result.code, 1);
    assert.equal(result.stdout, 'memory/sessions/a.jsonl:1:0: error: session header without an "id"\n');
  });

  test("a complete last line without newline is only a warning: exit 0", async () => {
    const { root, sessions } = memoryDir();
    writeFileSync(join(sessions, "c.jsonl"), `${HEADER}\n${LINE}`);
    const result = await runScript("verify.mts", ["memory/sessions"], { cwd: root });
    assert.equal(result.code, 0, result.stdout);
    assert.match(
      result.stdout,
      new RegExp(`^memory/sessions/c\\.jsonl:2:${HEADER.length + 1}: warning: last line has no newline`, "m"),
    );
  });

  test("problems are capped per file, with a count of the rest", async () => {
    const { root, sessions } = memoryDir();
    writeFileSync(join(sessions, "d.jsonl"), `${HEADER}\n${"not json\n".repeat(30)}`);
    const result = await runScript("verify.mts", ["--json"], { cwd: root });
    const report = JSON.parse(result.stdout);
    assert.equal(report.errors, 30);
    assert.equal(report.problems.length, 20);
    assert.equal(report.omitted["memory/sessions/d.jsonl"], 10);
    const text = await runScript("verify.mts", [], { cwd: root });
    assert.match(text.stdout, /^memory\/sessions\/d\.jsonl: \.\.\. and 10 more problems \(not listed\)$/m);
  });

  test("a 40 MB transcript is streamed (not loaded whole) and a late problem has the right offsets", async () => {
    const { root, sessions } = memoryDir();
    const line = `${JSON.stringify({ type: "message", id: "00000001", parentId: null, timestamp: "2026-04-07T02:05:10.858Z", message: { role: "assistant", content: [{ type: "text", text: "x".repeat(1900) }] } })}\n`;
    const count = Math.ceil((40 * 1024 * 1024) / line.length);
    writeFileSync(join(sessions, "big.jsonl"), `${HEADER}\n${line.repeat(count)}{"broken"\n${line}`);
    const result = await runScript("verify.mts", ["--json", "memory/sessions/big.jsonl"], { cwd: root });
    const report = JSON.parse(result.stdout);
    assert.deepEqual(
      report.problems.map((p: { line: number; byte: number; code: string }) => [p.line, p.byte, p.code]),
      [[count + 2, HEADER.length + 1 + count * line.length, "invalid-json"]],
    );
  });

  test("non-ASCII lines: verdicts, bytes and parser messages are those of the UTF-8 text, whatever the chunks", () => {
    // The validator parses lines from their latin1 text (faster); this pins that it judges like UTF-8 parsing.
    const lines = [
      `${HEADER}`,
      '{"text":"Straße — 東京 🙂 naïve","é":["ü"]}', // valid
      "{é:1}", // invalid: a non-ASCII character outside a string
      '"東京"', // not an object (a string)
      '\u00a0{"a":1}', // invalid: NBSP is not JSON whitespace
      '{"a":"café",}', // invalid after non-ASCII text
      '["ü"]', // not an object (an array)
      '{"type":"message","id":"ß"}', // valid
    ];
    const text = Buffer.from(lines.map((line) => `${line}\n`).join(""));
    const expected: Array<[number, number, string, string]> = [];
    let byte = 0;
    lines.forEach((line, i) => {
      let value: unknown;
      try {
        value = JSON.parse(line);
        if (Array.isArray(value) || typeof value !== "object")
          expected.push([i + 1, byte, "not-object", Array.isArray(value) ? "an array" : `a ${typeof value}`]);
      } catch (error) {
        // the parser's message for the UTF-8 text names the same offending character
        expected.push([i + 1, byte, "invalid-json", (error as Error).message.split(",")[0]]);
      }
      byte += Buffer.byteLength(line) + 1;
    });
    assert.equal(expected.length, 5);
    for (const size of [text.length, 1, 7, 64]) {
      const validator = new JsonlValidator({ transcript: true });
      for (let at = 0; at < text.length; at += size) validator.push(text.subarray(at, at + size));
      const summary = validator.end();
      assert.deepEqual(
        summary.problems.map((p) => [p.line, p.byte, p.code]),
        expected.map(([line, at, code]) => [line, at, code]),
        `chunks of ${size}`,
      );
      summary.problems.forEach((p, i) =>
        assert.ok(p.message.includes(expected[i][3]), `${p.message} (${size})`),
      );
    }
  });
});

describe("verify: the index and the folder", () => {
  test("a realistic synced folder is clean", async () => {
    const { root } = realisticMemory();
    const result = await runScript("verify.mts", [], { cwd: root });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(result.stdout, "");
  });

  test("bad entries are errors; missing and unnamed transcripts are warnings", async () => {
    const { root, sessions, agent } = realisticMemory();
    const index = JSON.parse(readFileSync(join(sessions, "sessions.json"), "utf8"));
    index["agent:main:broken"] = { sessionId: 42, updatedAt: "yesterday" };
    index["agent:main:ghost"] = { sessionId: "ghost-session", updatedAt: 1 };
    writeFileSync(join(sessions, "sessions.json"), JSON.stringify(index, null, 2));
    writeFileSync(join(sessions, "orphan-1.jsonl"), `${HEADER}\n`);
    const result = await runScript("verify.mts", ["--json"], { cwd: root });
    assert.equal(result.code, 1);
    const problems = JSON.parse(result.stdout).problems.map(
      (p: { severity: string; message: string }) => `${p.severity}: ${p.message}`,
    );
    assert.deepEqual(
      problems.sort(),
      [
        'error: entry "agent:main:broken" has no numeric updatedAt',
        'error: entry "agent:main:broken" has no string sessionId',
        "warning: orphan-1.jsonl is named by no entry",
        'warning: entry "agent:main:ghost" names ghost-session.jsonl, which does not exist',
      ].sort(),
    );
    assert.ok(agent);
  });

  test("sessions.json that is not JSON, or an array, is an error", async () => {
    const { root, sessions } = memoryDir();
    writeFileSync(join(sessions, "sessions.json"), "[]");
    let result = await runScript("verify.mts", [], { cwd: root });
    assert.equal(result.code, 1);
    assert.match(
      result.stdout,
      /^memory\/sessions\/sessions\.json: error: not an object keyed by session key$/m,
    );
    writeFileSync(join(sessions, "sessions.json"), "{ nope");
    result = await runScript("verify.mts", [], { cwd: root });
    assert.match(result.stdout, /^memory\/sessions\/sessions\.json: error: invalid JSON/m);
  });

  test("transient files in sessions/ are warnings", async () => {
    const { root, sessions } = realisticMemory();
    writeFileSync(join(sessions, "sessions.json.lock"), "{}");
    const result = await runScript("verify.mts", [], { cwd: root });
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^memory\/sessions\/sessions\.json\.lock: warning: a lock file/m);
  });
});

describe("verify: changed since sync (provenance)", () => {
  test("a file whose bytes differ from the record is a warning, an error with --strict; pruned files are fine", async () => {
    const { root, sessions, agent } = realisticMemory();
    const files: Record<string, unknown> = {};
    for (const name of agent.backedUp) {
      const data = readFileSync(join(sessions, name));
      const sha256 = createHash("sha256").update(data).digest("hex");
      files[name] = {
        size: data.length,
        sha256,
        cloudSize: data.length,
        cloudSha256: sha256,
        syncedAt: "2026-11-20T09:00:00.000Z",
      };
    }
    files["gone.jsonl"] = {
      size: 1,
      sha256: "0",
      cloudSize: 1,
      cloudSha256: "0",
      syncedAt: "x",
      prunedAt: "2026-11-21T00:00:00.000Z",
    };
    const provenance = { format: 1, lastSync: { at: "2026-11-20T09:00:00.000Z" }, files };
    writeFileSync(join(root, "memory", "sync-provenance.json"), JSON.stringify(provenance, null, 2));
    assert.equal((await runScript("verify.mts", [], { cwd: root })).code, 0);

    const target = agent.backedUp.find((name) => name.endsWith(".jsonl"))!;
    const text = readFileSync(join(sessions, target), "utf8");
    writeFileSync(join(sessions, target), text.replace("Move", "Mave")); // same size, different content
    const loose = await runScript("verify.mts", [], { cwd: root });
    assert.equal(loose.code, 0);
    assert.match(
      loose.stdout,
      new RegExp(
        `^memory/sessions/${target.replace(/\./g, "\\.")}: warning: changed since sync: same size, different content`,
        "m",
      ),
    );
    const strict = await runScript("verify.mts", ["--strict"], { cwd: root });
    assert.equal(strict.code, 1);
    assert.match(strict.stdout, /: error: changed since sync/);
  });
});

describe("verify: the agent's memory files (memory/workspace/)", () => {
  test("are scanned for secrets under the memory folder's allow list, and checked against the provenance's workspace record", async () => {
    const { root } = realisticMemory();
    const workspace = join(root, "memory", "workspace");
    mkdirSync(join(workspace, "memory"), { recursive: true });
    const day = "# 2026-11-18\n\nAtlas launch.\n";
    writeFileSync(join(workspace, "memory", "2026-11-18.md"), day);
    const sha256 = createHash("sha256").update(day).digest("hex");
    const record = { size: day.length, sha256, cloudSize: day.length, cloudSha256: sha256, syncedAt: "x" };
    const provenance = {
      format: 1,
      lastSync: { at: "2026-11-20T09:00:00.000Z" },
      files: {},
      workspace: { path: "/data/workspace", files: { "memory/2026-11-18.md": record } },
    };
    writeFileSync(join(root, "memory", "sync-provenance.json"), JSON.stringify(provenance, null, 2));
    assert.equal((await runScript("verify.mts", [], { cwd: root })).code, 0);

    const token = `ghp_${"a1B2".repeat(9)}`;
    writeFileSync(join(workspace, "MEMORY.md"), `# Memory\n\n- token: ${token}\n`);
    writeFileSync(join(workspace, "memory", "2026-11-18.md"), `${day}Edited by hand.\n`);
    const found = await runScript("verify.mts", [], { cwd: root });
    assert.equal(found.code, 1);
    assert.match(found.stdout, /^memory\/workspace\/MEMORY\.md:3: error: GITHUB_TOKEN/m);
    assert.match(found.stdout, /^memory\/workspace\/memory\/2026-11-18\.md: warning: changed since sync/m);
    assert.ok(!found.stdout.includes(token), "the secret is never printed");

    writeFileSync(join(root, "memory", ".secretsallow"), `${token}\n`);
    const allowed = await runScript("verify.mts", [], { cwd: root });
    assert.equal(allowed.code, 0, allowed.stdout);
    const strict = await runScript("verify.mts", ["--strict", "memory/workspace"], { cwd: root });
    assert.equal(strict.code, 1, "only the workspace named: its memory folder's provenance still applies");
    assert.match(strict.stdout, /2026-11-18\.md: error: changed since sync/);
  });
});

describe("verify: .syncignore", () => {
  test("a committed file or index entry that the ignore file excludes is an error", async () => {
    const { root, sessions, agent } = realisticMemory();
    const group = agent.sessions.find((session) => session.key.includes(":telegram:group:"))!;
    writeFileSync(join(root, "memory", ".syncignore"), `# private group\n${group.key}\n`);
    const result = await runScript("verify.mts", ["--json"], { cwd: root });
    assert.equal(result.code, 1);
    const problems = JSON.parse(result.stdout).problems as Array<{
      path: string;
      code: string;
      message: string;
    }>;
    const flagged = problems.filter((p) => p.code === "syncignored");
    const files = flagged
      .filter((p) => !p.path.endsWith("sessions.json"))
      .map((p) => p.path.split("/").pop());
    assert.deepEqual(
      files.sort(),
      [...group.files].sort(),
      "the group's transcript and both topic transcripts",
    );
    assert.equal(
      flagged.filter((p) => p.path.endsWith("sessions.json")).length,
      3,
      "the group key and its two topic keys",
    );
    assert.ok(sessions);
  });
});

describe("verify: command line", () => {
  test("--help, unknown flags (exit 2), missing paths (exit 2), --json is one object", async () => {
    const help = await runScript("verify.mts", ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--staged/);
    const bad = await runScript("verify.mts", ["--frobnicate"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Unknown option '--frobnicate'/);
    const { root } = memoryDir();
    const missing = await runScript("verify.mts", ["nowhere"], { cwd: root });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nowhere does not exist/);
    const json = await runScript("verify.mts", ["--json"], { cwd: root });
    assert.equal(json.code, 0);
    const report = JSON.parse(json.stdout);
    assert.equal(report.ok, true);
    assert.equal(report.files, 0);
  });
});
