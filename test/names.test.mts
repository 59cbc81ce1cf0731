// File names the bot's filesystem allows, however odd, and the archive names of every OpenClaw release: the real
// sync-memory script on real files. Nothing is skipped silently, one odd name never stops the backup, bot text
// never reaches the terminal raw, and a write that fails is one sentence with no lock or staging left behind.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { syncLocal } from "./helpers/run.mts";

const tmp = mkdtempSync(join(tmpdir(), "ocsync-names-"));
const mounts: string[] = [];
after(() => {
  for (const mount of mounts) spawnSyncQuiet("umount", [mount]);
  rmSync(tmp, { recursive: true, force: true });
});

function spawnSyncQuiet(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const line = (id: string) => `{"type":"session","version":3,"id":"${id}"}\n`;

describe("odd but legal names on the bot", () => {
  const state = makeStateDir(join(tmp, "odd", "state"));
  const sessions = state.agents[0].sessionsDir;
  const sessionId = state.agents[0].sessions[0].sessionId;
  // 22 CJK characters, percent-encoded as OpenClaw names topics: 255 bytes in all, legal on ext4.
  const topic = encodeURIComponent("議".repeat(22));
  const stem = `${sessionId}-topic-${topic}`;
  const long = `${stem}${"x".repeat(255 - ".jsonl".length - stem.length)}.jsonl`;
  const names: [string, Buffer][] = [
    ["a backslash", Buffer.from(`${sessionId}-topic-a\\b.jsonl`)],
    ["a carriage return", Buffer.from(`${sessionId}-topic-a\rb.jsonl`)],
    ["a newline", Buffer.from(`${sessionId}-topic-a\nb.jsonl`)],
    ["an ESC sequence", Buffer.from(`\x1b]0;pwned\x07\x1b[2J.jsonl`)],
    ["a dot-file", Buffer.from(".hidden-notes")],
    ["a 255-byte topic", Buffer.from(long)],
  ];
  const notUtf8 = Buffer.concat([
    Buffer.from(`${sessionId}-topic-`),
    Buffer.from([0xff, 0xfe]),
    Buffer.from(".jsonl"),
  ]);
  const memory = join(tmp, "odd", "memory");

  test("every name lands byte-exact (a non-UTF-8 one under its stated escaped name), named where unknown", async () => {
    assert.equal(Buffer.byteLength(long), 255);
    for (const [, name] of names)
      writeFileSync(Buffer.concat([Buffer.from(`${sessions}/`), name]), line("x"));
    writeFileSync(Buffer.concat([Buffer.from(`${sessions}/`), notUtf8]), line("y"));
    const result = await syncLocal(state.root, memory, ["--json"]);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    const landed = new Set(readdirSync(join(memory, "sessions")));
    for (const [what, name] of names) {
      const text = name.toString("utf8");
      assert.ok(landed.has(text), `${what}: ${JSON.stringify(text)} did not land`);
      assert.equal(readFileSync(join(memory, "sessions", text), "utf8"), line("x"), what);
    }
    // Not UTF-8: stored as the stated escape (%XX for each byte outside UTF-8), reversible.
    const escaped = `${sessionId}-topic-%FF%FE.jsonl`;
    assert.ok(landed.has(escaped), [...landed].join(", "));
    assert.equal(readFileSync(join(memory, "sessions", escaped), "utf8"), line("y"));
    // Unknown names are backed up and named, in --json and in a warning with its control characters escaped.
    assert.ok(summary.unknownFiles.includes(".hidden-notes"));
    assert.ok(summary.unknownFiles.includes("\x1b]0;pwned\x07\x1b[2J.jsonl"));
    assert.deepEqual(summary.skippedFiles, []);
    assert.doesNotMatch(result.stderr, /\x1b/, "a raw ESC reached the terminal");
    assert.match(
      result.stderr,
      /warning: "\\u001b\]0;pwned\\u0007\\u001b\[2J\.jsonl" is not a file name OpenClaw/,
    );
  });

  test("the text summary names them too, with no raw control characters", async () => {
    const again = await syncLocal(state.root, join(tmp, "odd", "memory-2"), []);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /backed up as unknown kind .*\.hidden-notes/);
    assert.doesNotMatch(again.stdout + again.stderr, /[\x00-\x08\x0b-\x1f\x7f]/);
  });
});

describe("discovery counts conversations only", () => {
  test("trajectory and checkpoint sidecars are not counted as transcripts", async () => {
    const state = makeStateDir(join(tmp, "count", "state"));
    const result = await syncLocal(state.root, join(tmp, "count", "memory"), ["--dry-run"]);
    assert.equal(result.code, 0, result.stderr);
    const sessions = state.agents[0].sessionsDir;
    const conversations = readdirSync(sessions).filter(
      (n) =>
        /\.jsonl$|\.jsonl\.(reset|deleted|bak)\./.test(n) &&
        !/\.(trajectory|acp-stream)\.jsonl$|\.checkpoint\./.test(n),
    ).length;
    assert.ok(
      readdirSync(sessions).some((n) => n.endsWith(".trajectory.jsonl")),
      "the fixture has a sidecar",
    );
    assert.match(result.stderr, new RegExp(`storage era files \\(${conversations} conversations,`));
  });
});

describe("a write that fails is one sentence; no lock, no staging folder left", () => {
  test("disk full (a 256 KiB tmpfs holds the memory folder)", async (t) => {
    const mount = join(tmp, "full");
    mkdirSync(mount);
    if (!spawnSyncQuiet("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mount])) {
      t.skip("this machine cannot mount a tmpfs (not root?)");
      return;
    }
    mounts.push(mount);
    const state = makeStateDir(join(tmp, "full-state"));
    writeFileSync(join(state.agents[0].sessionsDir, "big.jsonl"), line("b").repeat(20_000)); // ~900 KiB
    const memory = join(mount, "memory");
    const result = await syncLocal(state.root, memory, []);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /error: cannot write the staging folder: the disk is full; nothing was changed\n$/,
    );
    assert.doesNotMatch(result.stderr, /\n\s+at /, "a stack trace");
    assert.deepEqual(readdirSync(mount), existsSync(memory) ? ["memory"] : []);
    if (existsSync(memory)) assert.deepEqual(readdirSync(memory), []);
  });
});
