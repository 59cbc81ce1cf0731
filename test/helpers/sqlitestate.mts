// Builds SQLite-era OpenClaw state dirs for layouts A, B and C from the documented columns, and runs the remote
// exporter on them, the way the sync does (its source on stdin of the real Node 24 from .tools).
//   makeSqliteState(root, options) → the state dir plus every file the export must give back, byte for byte.
//   runExporter(args)              → the parsed OCSYNC stream (sizes and hashes checked), stderr and exit code.
// And the real OpenClaw from .tools: migrateWithOpenClaw (its doctor --fix), botBin (it on a bot's PATH).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { toolPath } from "../../scripts/dev/test-tools.mts";
import { REMOTE_NODE_FLAGS } from "../../scripts/lib/remote/transport.mts";
import { conversation, rng } from "../../scripts/dev/statedir.mts";
import { remoteFilterArgs } from "../../scripts/lib/openclaw/files.mts";

const HERE = dirname(fileURLToPath(import.meta.url));
export const EXPORTER = join(HERE, "..", "..", "scripts", "lib", "remote", "export-sqlite.mjs");
const WRITER = join(HERE, "sqlite-writer.mjs");

export type Layout = "A" | "B" | "C";
export const USER_VERSION: Record<Layout, number> = { A: 8, B: 20, C: 23 };

/** The real Node 24 the remote program runs on in tests; a clear failure when the tools are not installed. */
export function node24(): string {
  const path = toolPath("node24");
  if (!existsSync(path)) {
    throw new Error(`Node 24 is not installed at ${path}; run: npx tsx scripts/dev/test-tools.mts`);
  }
  return path;
}

export interface SqliteStateOptions {
  layout: Layout;
  agentId?: string;
  /** Overrides the layout's user_version (unknown-layout tests). */
  userVersion?: number;
  /** Drops one column after creating the tables (missing-column tests). */
  dropColumn?: { table: string; column: string };
  /** Commit the last events of the live session after a checkpoint, then SIGKILL the writer. */
  walOnly?: boolean;
  /** Add file-era leftovers in sessions/ and migration leftovers in session-sqlite-import-archive/. */
  leftovers?: boolean;
  /** Store one archive with a wrong archive_sha256. */
  corruptArchive?: boolean;
}

export interface SqliteState {
  root: string;
  agentId: string;
  dbPath: string;
  /** Every file the export must produce (name in the backup → exact bytes). */
  expected: Map<string, Buffer>;
  /** Lines committed only to the WAL (walOnly). */
  walOnlyLines: string[];
  /** Number of events stored zstd-compressed (layout C). */
  compressed: number;
}

const strip = (lines: string[]) => lines.map((line) => line.replace(/\n$/, ""));
const text = (lines: string[]) => Buffer.from(lines.map((line) => `${line}\n`).join(""));

export async function makeSqliteState(root: string, options: SqliteStateOptions): Promise<SqliteState> {
  const { layout } = options;
  const agentId = options.agentId ?? "main";
  const random = rng(layout.charCodeAt(0));
  const now = Date.parse("2026-11-20T09:00:00.000Z");
  const agentDir = join(root, "agents", agentId);
  const sessionsDir = join(agentDir, "sessions");
  const dbPath = join(agentDir, "agent", "openclaw-agent.sqlite");
  mkdirSync(dirname(dbPath), { recursive: true });
  mkdirSync(sessionsDir, { recursive: true });
  const expected = new Map<string, Buffer>();
  let compressed = 0;
  const zstdFiles: { path: string; base64: string }[] = [];

  // The main session key: an older generation (before a /reset) and the current one, whose first user message is
  // long enough (≥ 1 KiB) to be stored compressed in layout C.
  const oldId = "0b7c1e2a-0000-4000-a000-00000000000" + "1";
  const liveId = "0b7c1e2a-0000-4000-a000-00000000000" + "2";
  const groupId = "0b7c1e2a-0000-4000-a000-00000000000" + "3";
  const emptyId = "0b7c1e2a-0000-4000-a000-00000000000" + "4";
  const goneId = "0b7c1e2a-0000-4000-a000-00000000000" + "5";
  const older = strip(conversation(random, oldId, now - 9 * 86_400_000, 3).lines);
  const live = strip(
    conversation(random, liveId, now - 2 * 86_400_000, 4, { planted: `long paste: ${"ü".repeat(900)}` })
      .lines,
  );
  const group = strip(conversation(random, groupId, now - 5 * 86_400_000, 2).lines);
  const walOnlyLines = options.walOnly
    ? strip(conversation(random, liveId, now - 86_400_000, 2, { header: false }).lines)
    : [];
  if (layout === "C")
    compressed = [...older, ...live, ...group, ...walOnlyLines].filter(
      (l) => Buffer.byteLength(l) >= 1024,
    ).length;

  const mainEntry = {
    sessionId: liveId,
    updatedAt: now - 3600_000,
    chatType: "direct",
    compactionCount: 0,
    displayName: "Wie spät ist es? 🙂",
  };
  const groupEntry = {
    sessionId: groupId,
    updatedAt: now - 7200_000,
    chatType: "group",
    channel: "telegram",
  };
  const idleEntry = { sessionId: emptyId, updatedAt: now - 60_000, chatType: "direct" };
  const sessions = [
    {
      key: "agent:main:main",
      entry: mainEntry,
      windows: [
        { sessionId: oldId, events: older },
        { sessionId: liveId, events: live },
      ],
    },
    {
      key: "agent:main:telegram:group:-1001",
      entry: groupEntry,
      windows: [{ sessionId: groupId, events: group }],
    },
    // A session whose first reply has not been written yet: in the index, no transcript file.
    {
      key: "agent:main:cron:nightly",
      entry: idleEntry,
      windows: [{ sessionId: emptyId, events: [] as string[] }],
    },
  ];
  expected.set(
    "sessions.json",
    Buffer.from(
      JSON.stringify(
        {
          "agent:main:main": mainEntry,
          "agent:main:telegram:group:-1001": groupEntry,
          "agent:main:cron:nightly": idleEntry,
        },
        null,
        2,
      ),
    ),
  );
  expected.set(`${oldId}.jsonl`, text(older));
  expected.set(`${liveId}.jsonl`, text([...live, ...walOnlyLines]));
  expected.set(`${groupId}.jsonl`, text(group));

  // Archived generations held in the database (layouts B and C): one plain, one zstd.
  const archives: object[] = [];
  if (layout !== "A") {
    const resetName = `${groupId}.jsonl.reset.2026-11-14T09-00-00.000Z`;
    const resetBytes = text(strip(conversation(random, groupId, now - 7 * 86_400_000, 2).lines));
    archives.push({
      sessionId: groupId,
      generation: "g1",
      sessionKey: "agent:main:telegram:group:-1001",
      reason: "reset",
      encoding: "identity",
      name: resetName,
      base64: resetBytes.toString("base64"),
      createdAt: now - 6 * 86_400_000,
      corruptHash: options.corruptArchive,
    });
    expected.set(resetName, resetBytes);
    // Layout C is what 2026.8.1+ writes: `.deleted.<ts>.<32 hex>.zst`, a database row AND the same file in
    // sessions/ (as the real 2026.9.6 `openclaw sessions delete` leaves it; see docs/naming.md).
    const deletedName =
      layout === "C"
        ? `${goneId}.jsonl.deleted.2026-11-10T09-00-00.000Z.3fdfeb113a4347ec999465941849a368`
        : `${goneId}.jsonl.deleted.2026-11-10T09-00-00.000Z`;
    const deletedBytes = text(strip(conversation(random, goneId, now - 40 * 86_400_000, 3).lines));
    if (layout === "C") {
      zstdFiles.push({
        path: join(sessionsDir, `${deletedName}.zst`),
        base64: deletedBytes.toString("base64"),
      });
    }
    archives.push({
      sessionId: goneId,
      generation: "g1",
      sessionKey: "agent:main:old",
      reason: "deleted",
      encoding: "zstd",
      name: `${deletedName}.zst`,
      base64: deletedBytes.toString("base64"),
      createdAt: now - 10 * 86_400_000,
    });
    expected.set(deletedName, deletedBytes);
  }

  if (options.leftovers) {
    // File-era archives the migration left in sessions/, one of them zstd-compressed; never-backed-up clutter.
    const reset = text(strip(conversation(random, oldId, now - 30 * 86_400_000, 2).lines));
    writeFileSync(join(sessionsDir, `${oldId}.jsonl.reset.2026-10-20T09-00-00.000Z`), reset);
    expected.set(`${oldId}.jsonl.reset.2026-10-20T09-00-00.000Z`, reset);
    const deleted = text(
      strip(conversation(random, "c0ffee00-0000-4000-a000-000000000001", now - 50 * 86_400_000, 2).lines),
    );
    // Compressed by the writer (Node 24): the suite's own Node 20 has no zstd.
    zstdFiles.push({
      path: join(
        sessionsDir,
        "c0ffee00-0000-4000-a000-000000000001.jsonl.deleted.2026-10-01T09-00-00.000Z.zst",
      ),
      base64: deleted.toString("base64"),
    });
    expected.set("c0ffee00-0000-4000-a000-000000000001.jsonl.deleted.2026-10-01T09-00-00.000Z", deleted);
    writeFileSync(join(sessionsDir, "sessions.json.lock"), '{"pid":1}');
    writeFileSync(join(sessionsDir, `${liveId}.trajectory.jsonl`), '{"type":"trajectory"}\n');
    // Transcripts moved aside without import: one named by the migration manifest, one by the fallback rule.
    const archiveDir = join(agentDir, "session-sqlite-import-archive");
    mkdirSync(archiveDir, { recursive: true });
    const topicA = text(strip(conversation(random, groupId, now - 4 * 86_400_000, 2).lines));
    const topicB = text(strip(conversation(random, groupId, now - 4 * 86_400_000, 1).lines));
    const movedA = `archive-tier.${groupId}-topic-plans_20Q3.jsonl.imported-1795562482757`;
    writeFileSync(join(archiveDir, movedA), topicA);
    writeFileSync(join(archiveDir, `archive-tier.${groupId}-topic-99.jsonl.imported-1795562482758`), topicB);
    writeFileSync(
      join(archiveDir, `archive-tier.${liveId}.acp-stream.jsonl.imported-1795562482758`),
      '{"type":"acp"}\n',
    );
    expected.set(`${groupId}-topic-plans%20Q3.jsonl`, topicA);
    expected.set(`${groupId}-topic-99.jsonl`, topicB);
    // An imported original identical to the database's transcript (sent once), and the old index.
    writeFileSync(
      join(archiveDir, `agent_main_telegram_group_-1001.${groupId}.jsonl.imported-1795562482755`),
      text(group),
    );
    const legacyIndex = Buffer.from(
      JSON.stringify({ "agent:main:main": { sessionId: liveId, updatedAt: 1 } }, null, 2),
    );
    writeFileSync(join(archiveDir, "legacy-store.sessions.json.imported-1795562482899"), legacyIndex);
    expected.set("sessions.json.bak.1795562482899", legacyIndex);
    mkdirSync(join(root, "session-sqlite-migration-runs"), { recursive: true });
    writeFileSync(
      join(root, "session-sqlite-migration-runs", "session-sqlite-1-x.json"),
      JSON.stringify({
        manifestVersion: 3,
        targets: [
          {
            agentId,
            completedMoves: [
              {
                archivePath: `/data/agents/${agentId}/session-sqlite-import-archive/${movedA}`,
                sourcePath: `/data/agents/${agentId}/sessions/${groupId}-topic-plans%20Q3.jsonl`,
              },
            ],
          },
        ],
      }),
    );
  }

  const spec = {
    dbPath,
    layout,
    userVersion: options.userVersion ?? USER_VERSION[layout],
    agentId,
    appVersion: { A: "2026.7.2-beta.3", B: "2026.9.5", C: "2026.9.6" }[layout],
    sessions,
    archives,
    zstdFiles,
    dropColumn: options.dropColumn,
    walOnly: options.walOnly ? { sessionId: liveId, startSeq: live.length, events: walOnlyLines } : undefined,
  };
  const result = await runNode24([WRITER], JSON.stringify(spec));
  const killed = result.signal === "SIGKILL" && result.stdout.toString().includes("committed");
  if (options.walOnly ? !killed : result.code !== 0) {
    throw new Error(`the fixture writer failed (${result.code ?? result.signal}): ${result.stderr}`);
  }
  return { root, agentId, dbPath, expected, walOnlyLines, compressed };
}

export interface NodeResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export function runNode24(args: string[], input: string | Buffer, timeoutMs = 120_000): Promise<NodeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(node24(), args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.stdin.on("error", () => {});
    child.stdin.end(input);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8") });
    });
  });
}

export interface ExportResult {
  code: number | null;
  stderr: string;
  /** Raw stdout (gzip). */
  raw: Buffer;
  mode?: string;
  info: Map<string, string>;
  /** name → bytes (stream mode) or empty buffer (manifest mode). */
  files: Map<string, Buffer>;
  manifest: { name: string; size: number; sha256: string }[];
  /** `S` records: entries not read (not a regular file with one link). */
  skipped: { name: string; why: string }[];
  end?: { status: number; count: number };
}

/** Runs the exporter as sync does: `node FLAGS --input-type=module - MODE STATE AGENT [patterns]`, source on stdin. */
export async function runExporter(args: string[]): Promise<ExportResult> {
  // Without patterns, the lists sync passes (scripts/lib/openclaw/files.mts, the one copy).
  const argv = args.length === 3 ? [...args, ...remoteFilterArgs()] : args;
  const result = await runNode24(
    [...REMOTE_NODE_FLAGS, "--input-type=module", "-", ...argv],
    readFileSync(EXPORTER),
  );
  const parsed: ExportResult = {
    code: result.code,
    stderr: result.stderr,
    raw: result.stdout,
    info: new Map(),
    files: new Map(),
    manifest: [],
    skipped: [],
  };
  if (result.stdout.length === 0) return parsed;
  const data = gunzipSync(result.stdout);
  let at = 0;
  const line = () => {
    const nl = data.indexOf(10, at);
    if (nl < 0) throw new Error(`stream ends inside a record at byte ${at}`);
    const value = data.subarray(at, nl).toString("utf8");
    at = nl + 1;
    return value;
  };
  const header = /^OCSYNC 2 (manifest|stream)$/.exec(line());
  if (!header) throw new Error("stream does not start with an OCSYNC header");
  parsed.mode = header[1];
  for (;;) {
    const record = line();
    let m: RegExpExecArray | null;
    if ((m = /^I (\S+) (.*)$/.exec(record))) parsed.info.set(m[1], m[2]);
    else if ((m = /^S ((?:[0-9a-f]{2})+) (\S+)$/.exec(record)))
      parsed.skipped.push({ name: Buffer.from(m[1], "hex").toString("latin1"), why: m[2] });
    else if ((m = /^E (\d+) (\d+)$/.exec(record))) {
      parsed.end = { status: Number(m[1]), count: Number(m[2]) };
      break;
    } else if ((m = /^F (\d+) ([0-9a-f]{64}) ((?:[0-9a-f]{2})+)$/.exec(record))) {
      // names travel as the hex of their bytes
      const [size, sha256, name] = [Number(m[1]), m[2], Buffer.from(m[3], "hex").toString("utf8")];
      if (parsed.files.has(name)) throw new Error(`${name} sent twice`);
      parsed.manifest.push({ name, size, sha256 });
      if (parsed.mode === "stream") {
        const bytes = data.subarray(at, at + size);
        at += size;
        if (data[at] !== 10) throw new Error(`${name} is not followed by a newline`);
        at += 1;
        if (createHash("sha256").update(bytes).digest("hex") !== sha256)
          throw new Error(`${name} does not match its sha256`);
        parsed.files.set(name, Buffer.from(bytes));
      } else parsed.files.set(name, Buffer.alloc(0));
    } else throw new Error(`unexpected record ${JSON.stringify(record)}`);
  }
  if (at !== data.length) throw new Error(`${data.length - at} bytes after the end record`);
  return parsed;
}

/** Runs the real OpenClaw 2026.9.6 `doctor --fix` on a file-era state dir, as an upgraded bot would. */
export async function migrateWithOpenClaw(
  stateDir: string,
  home: string,
): Promise<{ stdout: string; stderr: string }> {
  const openclaw = toolPath("openclaw-2026.9.6");
  if (!existsSync(openclaw))
    throw new Error(
      `OpenClaw 2026.9.6 is not installed at ${openclaw}; run: npx tsx scripts/dev/test-tools.mts`,
    );
  mkdirSync(home, { recursive: true });
  return new Promise((resolve, reject) => {
    const child = spawn(node24(), [openclaw, "doctor", "--fix", "--yes", "--non-interactive"], {
      cwd: home,
      env: { PATH: process.env.PATH, HOME: home, OPENCLAW_STATE_DIR: stateDir, NO_COLOR: "1", CI: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      if (code !== 0) reject(new Error(`openclaw doctor --fix exited ${code}: ${stderr.slice(-2000)}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** `<dir>/bin-<version>` (made once) with `openclaw` (the real OpenClaw `version` from .tools, run by Node 24) and
 * `node` (Node 24), as on a bot's PATH. */
export function botBin(dir: string, version: string): string {
  const bin = join(dir, `bin-${version}`);
  if (existsSync(bin)) return bin;
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, "openclaw"),
    `#!/bin/sh\nexec ${node24()} ${toolPath(`openclaw-${version}`)} "$@"\n`,
    {
      mode: 0o755,
    },
  );
  symlinkSync(node24(), join(bin, "node"));
  return bin;
}

/**
 * Every file and folder under `dir` an hour old, then 2 s waited (the ctimes that setting the times moved are old
 * enough then too): a bot whose last write was a while before the sync, so that the exporter stamps its answer
 * (export-sqlite.mjs: no stamp while a time is under 2 s old).
 */
export async function settle(dir: string): Promise<void> {
  const hourAgo = new Date(Date.now() - 3600_000);
  const age = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) age(child);
      if (!lstatSync(child).isSymbolicLink()) utimesSync(child, hourAgo, hourAgo);
    }
    utimesSync(path, hourAgo, hourAgo);
  };
  age(dir);
  await new Promise((resolve) => setTimeout(resolve, 2100));
}
