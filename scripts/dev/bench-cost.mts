// The daily-cost parts of `npm run bench` (issue 15), each measured against a baseline in the same run:
//   exporter  peak RSS of the SQLite exporter (export-sqlite.mjs, source on stdin of Node 24 as the sync runs it)
//             over a database with one big transcript, against a bare `node -e 0` of the same Node
//   hook      hook time of `git commit` of one staged transcript in a 10,000-file history, against
//             `git commit --no-verify` of the same change
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { toolPath } from "./test-tools.mts";
import { REMOTE_NODE_FLAGS } from "../lib/remote/transport.mts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const EXPORTER = join(ROOT, "scripts", "lib", "remote", "export-sqlite.mjs");
const WRITER = join(ROOT, "scripts", "dev", "bench-sqlite-db.mjs");
/** Preloaded into the measured Node: its own peak RSS (getrusage) on stderr as it exits. */
const REPORT_RSS = `process.on("exit", () => process.stderr.write("\\nocsync-bench-maxrss " + process.resourceUsage().maxRSS + "\\n"));`;

export interface ExporterFigures {
  node: string;
  databaseBytes: number;
  bigTranscriptBytes: number;
  sessions: number;
  streamBytes: number;
  seconds: number;
  peakRssMb: number;
  baselineRssMb: number;
}

function node24(): string {
  const path = toolPath("node24");
  if (!existsSync(path))
    throw new Error(`Node 24 is not installed at ${path}; run: npx tsx scripts/dev/test-tools.mts`);
  return path;
}

function maxRssOf(stderr: string): number {
  const match = /ocsync-bench-maxrss (\d+)/.exec(stderr);
  if (!match) throw new Error(`the measured process did not report its peak RSS: ${stderr.slice(-500)}`);
  return (Number(match[1]) * 1024) / 1e6;
}

/** Builds (once) a layout-B state dir of `totalMb` with one `bigMb` transcript, then runs the exporter on it. */
export function benchExporter(
  dir: string,
  totalMb: number,
  bigMb: number,
  sessions: number,
): ExporterFigures {
  const node = node24();
  const state = join(dir, "sqlite-state");
  const db = join(state, "agents", "main", "agent", "openclaw-agent.sqlite");
  if (!existsSync(db)) {
    process.stderr.write(
      `bench: writing a ${totalMb} MB SQLite-era database (one ${bigMb} MB transcript) ...\n`,
    );
    mkdirSync(state, { recursive: true });
    const made = spawnSync(node, [WRITER, state, String(totalMb), String(bigMb), String(sessions)], {
      encoding: "utf8",
    });
    if (made.status !== 0) throw new Error(`writing the database failed: ${made.stderr}`);
  }
  const preload = join(dir, "report-rss.cjs");
  writeFileSync(preload, REPORT_RSS);
  const baseline = spawnSync(node, ["--require", preload, "-e", "0"], { encoding: "utf8" });
  const started = performance.now();
  const run = spawnSync(
    node,
    ["--require", preload, ...REMOTE_NODE_FLAGS, "--input-type=module", "-", "stream", state, "main"],
    {
      input: readFileSync(EXPORTER),
      maxBuffer: 4 * 1024 ** 3,
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const stderr = run.stderr.toString("utf8");
  if (run.status !== 0) throw new Error(`the exporter failed: ${stderr}`);
  return {
    node: spawnSync(node, ["--version"], { encoding: "utf8" }).stdout.trim(),
    databaseBytes: statSync(db).size,
    bigTranscriptBytes: bigMb * 1e6,
    sessions: sessions + 1,
    streamBytes: run.stdout.length,
    seconds,
    peakRssMb: maxRssOf(stderr),
    baselineRssMb: maxRssOf(baseline.stderr),
  };
}

/** CPU seconds (user + system) of this process's waited-for children so far (Linux /proc; NaN elsewhere). */
function childCpuSeconds(): number {
  try {
    const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
    return (Number(fields[13]) + Number(fields[14])) / 100; // cutime, cstime in USER_HZ (100)
  } catch {
    return NaN;
  }
}

export interface HookFigures {
  files: number;
  hookSeconds: number;
  /** CPU time (user + system, all processes) of the commit with the hook: what a quiet machine would wait. */
  hookCpuSeconds: number;
  noVerifyCpuSeconds: number;
  noVerifySeconds: number;
  /** The same commit checked by a full `verify --staged` (the hook before --changed). */
  fullSeconds: number;
}

function git(cwd: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  const run = spawnSync("git", args, { cwd, encoding: "utf8", env });
  if (run.status !== 0) throw new Error(`git ${args.join(" ")} failed: ${run.stderr}`);
}

const HEADER = (id: string) =>
  JSON.stringify({ type: "session", version: 3, id, timestamp: "2026-11-01T00:00:00.000Z", cwd: "/data" });
const LINE = (n: number) =>
  JSON.stringify({
    type: "message",
    id: `m${n}`,
    timestamp: "2026-11-01T00:00:01.000Z",
    message: { role: "user", content: [{ type: "text", text: `hello number ${n} `.repeat(1 + (n % 40)) }] },
  });

/** Commits of one grown transcript in a `files`-file history: through the hook, with --no-verify, and full. */
export function benchHook(dir: string, files: number, rounds: number): HookFigures {
  const repo = join(dir, "hook-repo");
  const sessions = join(repo, "memory", "sessions");
  if (!existsSync(join(repo, ".git"))) {
    process.stderr.write(`bench: building a git history of ${files} transcripts ...\n`);
    mkdirSync(sessions, { recursive: true });
    git(repo, ["init", "-q", "-b", "main"]);
    const index: Record<string, { sessionId: string; updatedAt: number }> = {};
    for (let i = 0; i < files - 1; i++) {
      const id = `s${String(i).padStart(5, "0")}`;
      let text = `${HEADER(id)}\n`;
      for (let n = 0; n < 5 + (i % 30); n++) text += `${LINE(n)}\n`;
      writeFileSync(join(sessions, `${id}.jsonl`), text);
      index[`agent:main:${id}`] = { sessionId: id, updatedAt: i };
    }
    writeFileSync(join(sessions, "sessions.json"), JSON.stringify(index, null, 2));
    git(repo, ["add", "memory"]);
    git(repo, [
      "-c",
      "user.name=bench",
      "-c",
      "user.email=bench@example.com",
      "commit",
      "-q",
      "--no-verify",
      "-m",
      "history",
    ]);
  }
  const commit = (extra: string[], label: number): { seconds: number; cpu: number } => {
    writeFileSync(
      join(sessions, "s00007.jsonl"),
      `${readFileSync(join(sessions, "s00007.jsonl"), "utf8")}${LINE(1000 + label)}\n`,
    );
    git(repo, ["add", "memory/sessions/s00007.jsonl"]);
    const cpu = childCpuSeconds();
    const started = performance.now();
    git(repo, [
      "-c",
      "user.name=bench",
      "-c",
      "user.email=bench@example.com",
      "-c",
      `core.hooksPath=${join(ROOT, "hooks")}`,
      "commit",
      "-q",
      ...extra,
      "-m",
      `grow ${label}`,
    ]);
    return { seconds: (performance.now() - started) / 1000, cpu: childCpuSeconds() - cpu };
  };
  const full = (): number => {
    const started = performance.now();
    const run = spawnSync(
      join(ROOT, "node_modules", ".bin", "tsx"),
      [join(ROOT, "scripts", "verify.mts"), "--staged", "--", "memory"],
      {
        cwd: repo,
        encoding: "utf8",
      },
    );
    if (run.status !== 0) throw new Error(`verify --staged failed: ${run.stderr}`);
    return (performance.now() - started) / 1000;
  };
  let hookSeconds = Infinity;
  let hookCpuSeconds = Infinity;
  let noVerifySeconds = Infinity;
  let noVerifyCpuSeconds = Infinity;
  for (let round = 0; round < rounds; round++) {
    const plain = commit(["--no-verify"], round * 2);
    noVerifySeconds = Math.min(noVerifySeconds, plain.seconds);
    noVerifyCpuSeconds = Math.min(noVerifyCpuSeconds, plain.cpu);
    const hooked = commit([], round * 2 + 1);
    hookSeconds = Math.min(hookSeconds, hooked.seconds);
    hookCpuSeconds = Math.min(hookCpuSeconds, hooked.cpu);
  }
  const fullSeconds = full();
  return { files, hookSeconds, hookCpuSeconds, noVerifySeconds, noVerifyCpuSeconds, fullSeconds };
}
