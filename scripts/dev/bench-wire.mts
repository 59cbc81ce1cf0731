// The wire part of `npm run bench` (issue 15): what a daily sync costs over a real OpenSSH connection, for both
// storage eras, each figure against a baseline measured in the same run:
//   * bytes on the wire (counted by a TCP relay between ssh and sshd on 127.0.0.1, both directions, encryption and
//     handshake included) of an idle day and of a normal day, against gzip -1 of that day's new bytes (what a
//     perfect transfer would move): the bytes appended to what grew, whole files for what is new or rewritten;
//   * the idle day's wall time against `ssh host true` over the same relay.
// The day profile is the issue's: about 1 % new lines in 5 % of the sessions, and 10 new sessions. The file era is
// a generated sessions folder; the SQLite era a layout-B database from bench-sqlite-db.mjs (its APPEND=1 makes
// the normal day), exported by export-sqlite.mjs on Node 24 from .tools (the remote's PATH, set by sshd). Both
// histories are written a while before the first sync (files an hour old; the database's times too, 2 s waited).
import { spawn, spawnSync } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { createServer, createConnection, type Server } from "node:net";
import { userInfo } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { startSshd } from "../../test/helpers/sshd.mts";
import { settle } from "../../test/helpers/sqlitestate.mts";
import { toolPath } from "./test-tools.mts";
// @ts-expect-error a plain module of the bench (also imported by bench-sqlite-db.mjs under Node 24)
import { proseMaker } from "./bench-text.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const WRITER = join(ROOT, "scripts", "dev", "bench-sqlite-db.mjs");

export interface DayFigures {
  wireBytes: number;
  gzipLimit: number;
  seconds: number;
  /** What sync itself counted (the remote program's compressed output). */
  streamBytes: number;
}

export interface EraFigures {
  era: "files" | "sqlite";
  sessions: number;
  historyBytes: number;
  first: { wireBytes: number; seconds: number };
  idle: DayFigures;
  normal: DayFigures;
}

export interface WireFigures {
  sshTrueSeconds: number;
  sshTrueWireBytes: number;
  eras: EraFigures[];
}

function git(cwd: string, args: string[]): void {
  const done = spawnSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "bench",
      GIT_AUTHOR_EMAIL: "bench@localhost",
      GIT_COMMITTER_NAME: "bench",
      GIT_COMMITTER_EMAIL: "bench@localhost",
    },
  });
  if (done.status !== 0) throw new Error(`git ${args.join(" ")}: ${done.stderr}`);
}

function commit(repo: string): void {
  git(repo, ["add", "-A", "memory"]);
  git(repo, ["commit", "-q", "--allow-empty", "--no-verify", "-m", "sync"]);
}

/** A TCP relay that counts the bytes it passes, both ways. */
async function relay(
  port: number,
): Promise<{ port: number; bytes: () => number; reset: () => void; close: () => void }> {
  let bytes = 0;
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port });
    // As transparent as the direct connection: ssh turns Nagle's algorithm off on its socket, and a relay that
    // left it on would hold back each small write for the peer's delayed ACK (tens of ms a round trip).
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on("data", (chunk: Buffer) => (bytes += chunk.length));
    upstream.on("data", (chunk: Buffer) => (bytes += chunk.length));
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    bytes: () => bytes,
    reset: () => (bytes = 0),
    close: () => server.close(),
  };
}

function run(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

let seed = 42;
/** A seeded generator (mulberry32), so that every run writes the same history. */
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const prose = proseMaker(random);
function line(id: number, n: number): string {
  const text = prose(20 + Math.floor(random() * 200));
  return `${JSON.stringify({ type: "message", id: `${id}-${n}`, timestamp: new Date(Date.UTC(2026, 10, 1) + n * 1000).toISOString(), message: { role: n % 2 ? "assistant" : "user", content: [{ type: "text", text }] } })}\n`;
}
const sessionName = (n: number) => `0b7c1e2a-0000-4000-a000-${String(n).padStart(12, "0")}.jsonl`;

/** A file-era sessions folder of about `totalMb` in `count` sessions, files an hour old. */
function makeFileEra(state: string, totalMb: number, count: number): void {
  const dir = join(state, "agents", "main", "sessions");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(state, "openclaw.json"), JSON.stringify({ meta: { lastTouchedVersion: "2026.7.1" } }));
  const index: Record<string, unknown> = {};
  for (let n = 1; n <= count; n++) {
    let text = `${JSON.stringify({ type: "session", version: 3, id: sessionName(n).slice(0, 36), timestamp: "2026-11-01T00:00:00.000Z", cwd: "/data" })}\n`;
    for (let i = 0; text.length < (totalMb * 1e6) / count; i++) text += line(n, i);
    writeFileSync(join(dir, sessionName(n)), text);
    index[`agent:main:s${n}`] = { sessionId: sessionName(n).slice(0, 36), updatedAt: n };
  }
  writeFileSync(join(dir, "sessions.json"), JSON.stringify(index, null, 2));
  age(dir);
}

/** Every file an hour old, as on a bot whose files were written before the sync. */
function age(dir: string): void {
  const hourAgo = new Date(Date.now() - 3600_000);
  for (const name of readdirSync(dir)) utimesSync(join(dir, name), hourAgo, hourAgo);
}

/** The issue's normal day for the file era: ~1 % more lines in 5 % of the sessions, 10 new sessions. */
function fileEraDay(state: string, totalMb: number, count: number): void {
  const dir = join(state, "agents", "main", "sessions");
  for (let n = 1; n <= count; n++) {
    if ((n * 2654435761) % 100 >= 5) continue;
    let added = "";
    for (let i = 0; added.length < (totalMb * 1e6) / count / 100; i++) added += line(n + 7, 100000 + i);
    appendFileSync(join(dir, sessionName(n)), added);
  }
  const index = JSON.parse(readFileSync(join(dir, "sessions.json"), "utf8"));
  for (let n = count + 1; n <= count + 10; n++) {
    let text = `${JSON.stringify({ type: "session", version: 3, id: sessionName(n).slice(0, 36), timestamp: "2026-11-02T00:00:00.000Z", cwd: "/data" })}\n`;
    for (let i = 0; text.length < (totalMb * 1e6) / count; i++) text += line(n, i);
    writeFileSync(join(dir, sessionName(n)), text);
    index[`agent:main:s${n}`] = { sessionId: sessionName(n).slice(0, 36), updatedAt: n };
  }
  writeFileSync(join(dir, "sessions.json"), JSON.stringify(index, null, 2));
}

/** The backup's files (name → bytes). */
function snapshot(sessions: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  if (!existsSync(sessions)) return out;
  for (const name of readdirSync(sessions)) out.set(name, readFileSync(join(sessions, name)));
  return out;
}

/** gzip -1 of what a perfect transfer would move from `before` to `after`. */
function gzipLimit(before: Map<string, Buffer>, after: Map<string, Buffer>): number {
  const parts: Buffer[] = [];
  for (const [name, bytes] of after) {
    const old = before.get(name);
    if (old?.equals(bytes)) continue;
    parts.push(old && bytes.subarray(0, old.length).equals(old) ? bytes.subarray(old.length) : bytes);
  }
  return gzipSync(Buffer.concat(parts), { level: 1 }).length;
}

export async function benchWire(
  dir: string,
  totalMb: number,
  count: number,
  rounds: number,
): Promise<WireFigures> {
  const node24 = toolPath("node24");
  if (!existsSync(node24))
    throw new Error(`Node 24 is not installed at ${node24}; run: npx tsx scripts/dev/test-tools.mts`);
  const sshd = await startSshd(join(dir, "sshd"), {
    path: `${dirname(node24)}:/usr/local/bin:/usr/bin:/bin`,
  });
  const counted = await relay(sshd.port);
  const user = userInfo().username;
  const sshArgs = sshd.clientOptions.flatMap((option) => ["-o", option]);
  try {
    // The baseline: one `ssh host true` through the same relay (best of `rounds`).
    let sshTrueSeconds = Infinity;
    let sshTrueWireBytes = 0;
    for (let i = 0; i < rounds; i++) {
      counted.reset();
      const started = performance.now();
      const done = await run(["ssh", "-p", String(counted.port), ...sshArgs, `${user}@127.0.0.1`, "true"]);
      if (done.code !== 0) throw new Error(`ssh host true failed: ${done.stderr}`);
      sshTrueSeconds = Math.min(sshTrueSeconds, (performance.now() - started) / 1000);
      sshTrueWireBytes = counted.bytes();
    }
    const sync = async (state: string, memory: string) => {
      counted.reset();
      const started = performance.now();
      const done = await run([
        process.execPath,
        "--import",
        import.meta.resolve("tsx"),
        join(ROOT, "scripts", "sync-memory.mts"),
        "--ssh",
        `${user}@127.0.0.1:${counted.port}`,
        ...sshd.clientOptions.flatMap((option) => ["--ssh-option", option]),
        "--state-dir",
        state,
        "--agent",
        "main",
        "--memory",
        memory,
        "--json",
        "--quiet",
      ]);
      const seconds = (performance.now() - started) / 1000;
      if (done.code !== 0) throw new Error(`sync failed: ${done.stderr}`);
      // As the daily workflow does: the day's result is committed (untimed), so the next day finds memory/ clean
      // in git (and the files git says are the recorded blobs are not read again).
      commit(dirname(memory));
      const summary = JSON.parse(done.stdout);
      return { seconds, wireBytes: counted.bytes(), streamBytes: summary.bytes.transferred as number };
    };
    const eras: EraFigures[] = [];
    for (const era of ["files", "sqlite"] as const) {
      const state = join(dir, `wire-${era}`, "state");
      const memory = join(dir, `wire-${era}`, "memory");
      rmSync(join(dir, `wire-${era}`), { recursive: true, force: true });
      mkdirSync(join(dir, `wire-${era}`), { recursive: true });
      git(join(dir, `wire-${era}`), ["init", "-q"]);
      process.stderr.write(`bench: ${era} era, ${count} sessions, ~${totalMb} MB ...\n`);
      if (era === "files") makeFileEra(state, totalMb, count);
      else {
        const made = spawnSync(node24, [WRITER, state, String(totalMb), "0", String(count)], {
          encoding: "utf8",
        });
        if (made.status !== 0) throw new Error(`writing the database failed: ${made.stderr}`);
        writeFileSync(
          join(state, "openclaw.json"),
          JSON.stringify({ meta: { lastTouchedVersion: "2026.9.6" } }),
        );
        // As on a bot whose database was last written a while before the sync (the file era's files are an hour
        // old too): the exporter then stamps its answer, and the idle day's listing reads nothing.
        await settle(state);
      }
      const first = await sync(state, memory);
      const sessions = join(memory, "sessions");
      const historyBytes = [...snapshot(sessions).values()].reduce((n, b) => n + b.length, 0);
      // The idle day: nothing changed since the first sync.
      let idle: DayFigures = { wireBytes: Infinity, gzipLimit: 0, seconds: Infinity, streamBytes: 0 };
      for (let i = 0; i < rounds; i++) {
        const day = await sync(state, memory);
        if (day.seconds < idle.seconds) idle = { ...day, gzipLimit: 0 };
      }
      // The normal day.
      const before = snapshot(sessions);
      if (era === "files") fileEraDay(state, totalMb, count);
      else {
        const made = spawnSync(node24, [WRITER, state, String(totalMb), "0", String(count)], {
          encoding: "utf8",
          env: { ...process.env, APPEND: "1" },
        });
        if (made.status !== 0) throw new Error(`the normal day failed: ${made.stderr}`);
      }
      const day = await sync(state, memory);
      const normal = { ...day, gzipLimit: gzipLimit(before, snapshot(sessions)) };
      eras.push({
        era,
        sessions: count,
        historyBytes,
        first: { wireBytes: first.wireBytes, seconds: first.seconds },
        idle,
        normal,
      });
    }
    return { sshTrueSeconds, sshTrueWireBytes, eras };
  } finally {
    counted.close();
    sshd.stop();
  }
}
