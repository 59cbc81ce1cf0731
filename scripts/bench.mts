// bench: how fast is full verification (JSONL checks + secret scan) next to a bare split-on-newline + JSON.parse
// loop over the same files, and how much memory does it take; and how fast is sync's secret redaction. Each measured run is its own child process, so
// peak RSS (process.resourceUsage().maxRSS) belongs to that run alone; the two kinds alternate, best time wins.
// Usage: npx tsx scripts/bench.mts [--size MB] [--rounds N] [--dir DIR] [--keep] [--json]
//        (npm run bench)
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { once } from "node:events";
import { tmpdir, cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError, formatBytes, parseFlags, printJson, runMain } from "./lib/cli.mts";
import { verify } from "./lib/verify.mts";
import { benchExporter, benchHook } from "./dev/bench-cost.mts";
import { benchWire } from "./dev/bench-wire.mts";
import { createRedactState, redactJsonlChunk } from "./lib/secrets.mts";
import { rng } from "./dev/statedir.mts";
import { applyStaged, createStaging, type StagedChange } from "./lib/store/apply.mts";

const HELP = `bench: full verification (secrets included) and sync's secret redaction, against a bare split + JSON.parse
loop over the same files; the SQLite exporter's peak RSS; the pre-commit hook's time in a large history.

Usage: npx tsx scripts/bench.mts [options]     (or: npm run bench)

Options:
  --size MB     megabytes of synthetic transcripts to generate (default: 256); the SQLite exporter's database
                holds twice as much, 80 % of it in one transcript (default: 512 MB, one 410 MB transcript)
  --files N     transcripts in the git history of the hook measurement (default: 10000)
  --parts LIST  which measurements, comma-separated: verify, exporter, hook, apply, wire (default: all)
  --sessions N  sessions of each era's history in the wire measurement (default: 2000); its history is --size MB
  --apply-files N  files changed in the apply measurement (default: 10000)
  --rounds N    runs of each kind; the best time counts (default: 3)
  --dir DIR     use (or fill) this folder instead of a temporary one
  --keep        keep the generated folder
  --json        print the figures as one JSON document
  -h, --help    show this help

Targets: verification runs at ≥ 0.9× the bare loop's throughput with a peak RSS under 150 MB; the SQLite
exporter's peak RSS stays under 64 MB (Node 24); the pre-commit hook adds under 1 s to a commit of one transcript
in a 10,000-file history.

The apply measurement moves N changed files into a memory folder with store/apply.mts's journaled transaction
(fsync of staged and replaced files, journal, folder fsyncs, commit point) and with plain renames, alternating,
on the filesystem of --dir (or the temporary folder); the best round of each counts. No target: it reports the
cost of durability as a ratio.

The wire measurement syncs each era's history (file era: a sessions folder; SQLite era: a layout-B database)
over a real sshd on 127.0.0.1 through a relay that counts every byte both ways, then an idle day and a normal day
(~1 % new lines in 5 % of the sessions, 10 new sessions). Targets: a normal day's bytes ≤ 1.2× gzip -1 of its new
bytes; an idle day's wall time ≤ 3× \`ssh host true\` through the same relay.`;

interface Flags {
  size: string;
  files: string;
  parts: string;
  sessions: string;
  "apply-files": string;
  rounds: string;
  dir?: string;
  keep: boolean;
  json: boolean;
  help: boolean;
  child?: string;
}

const SELF = fileURLToPath(import.meta.url);
const KINDS = ["bare", "verify", "redact"] as const;
type Kind = (typeof KINDS)[number];

async function main(): Promise<number> {
  const { values: flags } = parseFlags<Flags>({
    size: { type: "string", default: "256" },
    files: { type: "string", default: "10000" },
    parts: { type: "string", default: "verify,exporter,hook,apply,wire" },
    sessions: { type: "string", default: "2000" },
    "apply-files": { type: "string", default: "10000" },
    rounds: { type: "string", default: "3" },
    dir: { type: "string" },
    keep: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
    child: { type: "string" },
  });
  if (flags.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (flags.child) return runChild(flags.child, flags.dir!);

  const megabytes = Number(flags.size);
  const rounds = Number(flags.rounds);
  if (!(megabytes > 0))
    throw new UsageError(`--size must be a positive number of megabytes, not ${flags.size}`);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new UsageError(`--rounds must be a positive integer, not ${flags.rounds}`);

  const parts = new Set(flags.parts.split(",").map((part) => part.trim()));
  const unknown = [...parts].filter(
    (part) => !["verify", "exporter", "hook", "apply", "wire"].includes(part),
  );
  if (unknown.length)
    throw new UsageError(`--parts knows verify, exporter, hook, apply and wire, not ${unknown.join(", ")}`);
  const sessionCount = Number(flags.sessions);
  if (!Number.isInteger(sessionCount) || sessionCount < 20)
    throw new UsageError(`--sessions must be a whole number ≥ 20, not ${flags.sessions}`);
  const applyFiles = Number(flags["apply-files"]);
  if (!Number.isInteger(applyFiles) || applyFiles < 1)
    throw new UsageError(`--apply-files must be a positive whole number, not ${flags["apply-files"]}`);
  const files = Number(flags.files);
  if (!Number.isInteger(files) || files < 2)
    throw new UsageError(`--files must be an integer ≥ 2, not ${flags.files}`);

  const dir = flags.dir ?? mkdtempSync(join(tmpdir(), "ocsync-bench-"));
  const sessions = join(dir, "memory", "sessions");
  try {
    const cost: Record<string, unknown> = {};
    const lines: string[] = [];
    if (parts.has("exporter")) {
      const total = Math.round(megabytes * 2);
      const figures = benchExporter(dir, total, Math.round(total * 0.8), 2000);
      cost.exporter = { ...figures, pass: figures.peakRssMb < 64 };
      lines.push(
        `exporter: ${formatBytes(figures.databaseBytes)} database, one ${formatBytes(figures.bigTranscriptBytes)} transcript + ${figures.sessions - 1} more, Node ${figures.node}: ` +
          `peak RSS ${figures.peakRssMb.toFixed(0)} MB (bare node -e 0: ${figures.baselineRssMb.toFixed(0)} MB; target < 64 MB: ${figures.peakRssMb < 64 ? "met" : "NOT met"}), ` +
          `${figures.seconds.toFixed(1)} s, ${formatBytes(figures.streamBytes)} gzip stream`,
      );
    }
    if (parts.has("hook")) {
      const figures = benchHook(dir, files, rounds);
      const added = figures.hookSeconds - figures.noVerifySeconds;
      cost.hook = { ...figures, addedSeconds: added, pass: added < 1 };
      lines.push(
        `hook:     commit of one grown transcript in a ${figures.files}-file history: ${figures.hookSeconds.toFixed(2)} s with the hook, ` +
          `${figures.noVerifySeconds.toFixed(2)} s --no-verify (hook adds ${added.toFixed(2)} s wall, ${(figures.hookCpuSeconds - figures.noVerifyCpuSeconds).toFixed(2)} s CPU; target < 1 s: ${added < 1 ? "met" : "NOT met"}); ` +
          `a full verify --staged of the same index: ${figures.fullSeconds.toFixed(2)} s`,
      );
    }
    if (parts.has("apply")) {
      const figures = await benchApply(dir, applyFiles, rounds);
      cost.apply = figures;
      lines.push(
        `apply:    ${figures.files} changed files into memory/: journaled (fsyncs, journal, commit point) ${figures.journaled.seconds.toFixed(2)} s, ` +
          `plain renames ${figures.plain.seconds.toFixed(2)} s: ${figures.ratio.toFixed(2)}× the plain time (best of ${rounds})`,
      );
    }
    if (parts.has("wire")) {
      const figures = await benchWire(dir, megabytes, sessionCount, rounds);
      cost.wire = figures;
      lines.push(
        `wire:     ssh host true ${figures.sshTrueSeconds.toFixed(2)} s, ${formatBytes(figures.sshTrueWireBytes)} on the wire (best of ${rounds})`,
      );
      for (const era of figures.eras) {
        const ratio = era.normal.wireBytes / era.normal.gzipLimit;
        const idleRatio = era.idle.seconds / figures.sshTrueSeconds;
        lines.push(
          `wire:     ${era.era} era, ${era.sessions} sessions, ${formatBytes(era.historyBytes)}: first sync ${formatBytes(era.first.wireBytes)} in ${era.first.seconds.toFixed(1)} s; ` +
            `idle day ${formatBytes(era.idle.wireBytes)} in ${era.idle.seconds.toFixed(2)} s (${idleRatio.toFixed(2)}× ssh host true; target ≤ 3×: ${idleRatio <= 3 ? "met" : "NOT met"}); ` +
            `normal day ${formatBytes(era.normal.wireBytes)} vs gzip -1 of its new bytes ${formatBytes(era.normal.gzipLimit)} (${ratio.toFixed(2)}×; target ≤ 1.2×: ${ratio <= 1.2 ? "met" : "NOT met"}) in ${era.normal.seconds.toFixed(1)} s`,
        );
      }
    }
    if (!parts.has("verify")) {
      if (flags.json) printJson(cost);
      else process.stdout.write(`${lines.join("\n")}\n`);
      return 0;
    }
    if (!existsSync(sessions) || totalSize(sessions) < megabytes * 1e6) {
      process.stderr.write(`bench: generating ${megabytes} MB of transcripts in ${sessions} ...\n`);
      await generate(sessions, megabytes * 1e6);
    }
    const bytes = totalSize(sessions);
    const runs: Record<Kind, Array<{ seconds: number; maxRssMb: number; result: string }>> = {
      bare: [],
      verify: [],
      redact: [],
    };
    for (let round = 0; round < rounds; round++) {
      for (const kind of KINDS) {
        const run = spawnSync(process.execPath, [...process.execArgv, SELF, "--child", kind, "--dir", dir], {
          encoding: "utf8",
        });
        if (run.status !== 0) throw new Error(`${kind} run failed: ${run.stderr}`);
        const figures = JSON.parse(run.stdout.trim().split("\n").pop()!);
        runs[kind].push(figures);
        process.stderr.write(
          `bench: round ${round + 1} ${kind.padEnd(6)} ${(bytes / 1e6 / figures.seconds).toFixed(0)} MB/s, peak RSS ${figures.maxRssMb.toFixed(0)} MB\n`,
        );
      }
    }
    const best = (kind: Kind) => runs[kind].reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const bare = best("bare");
    const full = best("verify");
    const redaction = best("redact");
    const result = {
      node: process.version,
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      bytes,
      files: readdirSync(sessions).length,
      rounds,
      bare: {
        mbPerSecond: bytes / 1e6 / bare.seconds,
        seconds: bare.seconds,
        peakRssMb: Math.max(...runs.bare.map((r) => r.maxRssMb)),
      },
      verify: {
        mbPerSecond: bytes / 1e6 / full.seconds,
        seconds: full.seconds,
        peakRssMb: Math.max(...runs.verify.map((r) => r.maxRssMb)),
        result: full.result,
      },
      ratio: bare.seconds / full.seconds,
      redact: {
        mbPerSecond: bytes / 1e6 / redaction.seconds,
        seconds: redaction.seconds,
        peakRssMb: Math.max(...runs.redact.map((r) => r.maxRssMb)),
        result: redaction.result,
        ratio: bare.seconds / redaction.seconds,
      },
    };
    const pass = result.ratio >= 0.9 && result.verify.peakRssMb < 150;
    if (flags.json) printJson({ ...result, pass, ...cost });
    else {
      process.stdout.write(
        [
          `data:    ${formatBytes(bytes)} in ${result.files} files (synthetic transcripts), Node ${process.version}, ${result.cpus} CPUs`,
          `bare:    ${result.bare.mbPerSecond.toFixed(0)} MB/s  (split on \\n + JSON.parse), peak RSS ${result.bare.peakRssMb.toFixed(0)} MB`,
          `verify:  ${result.verify.mbPerSecond.toFixed(0)} MB/s  (all checks, secrets included), peak RSS ${result.verify.peakRssMb.toFixed(0)} MB — ${full.result}`,
          `ratio:   ${result.ratio.toFixed(2)}× the bare loop (target ≥ 0.90×, peak RSS < 150 MB): ${pass ? "met" : "NOT met"}`,
          `redact:  ${result.redact.mbPerSecond.toFixed(0)} MB/s  (sync's streaming redaction + sha256), ${result.redact.ratio.toFixed(2)}× the bare loop, peak RSS ${result.redact.peakRssMb.toFixed(0)} MB — ${redaction.result}`,
          ...lines,
          "",
        ].join("\n"),
      );
    }
    return 0;
  } finally {
    if (!flags.keep && !flags.dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** One measured run, in its own process. Prints {seconds, maxRssMb, result} as JSON. */
async function runChild(kind: string, dir: string): Promise<number> {
  const sessions = join(dir, "memory", "sessions");
  const started = performance.now();
  let result: string;
  if (kind === "bare") {
    let lines = 0;
    for (const name of readdirSync(sessions)
      .sort()
      .filter((name) => name.endsWith(".jsonl"))) {
      let carry: Buffer | undefined;
      for await (const piece of createReadStream(join(sessions, name), { highWaterMark: 1024 * 1024 })) {
        const chunk = carry ? Buffer.concat([carry, piece as Buffer]) : (piece as Buffer);
        let start = 0;
        let end = chunk.indexOf(10, start);
        while (end >= 0) {
          if (end > start) JSON.parse(chunk.toString("utf8", start, end));
          lines++;
          start = end + 1;
          end = chunk.indexOf(10, start);
        }
        carry = start < chunk.length ? chunk.subarray(start) : undefined;
      }
    }
    result = `${lines} lines`;
  } else if (kind === "redact") {
    // What sync does to every file it receives (scripts/lib/sync: redactFile): stream it through the redaction
    // and hash what comes out. The output is discarded here; sync writes it to a staging file.
    let redactions = 0;
    for (const name of readdirSync(sessions).sort()) {
      const state = createRedactState();
      const hash = createHash("sha256");
      for await (const chunk of createReadStream(join(sessions, name)))
        hash.update(redactJsonlChunk(state, chunk as Buffer));
      hash.update(redactJsonlChunk(state, null));
      hash.digest();
      redactions += state.redactions;
    }
    result = `${redactions} secrets redacted`;
  } else {
    const report = await verify([join(dir, "memory")], { cwd: dir });
    result = `${report.errors} errors, ${report.warnings} warnings (planted secrets: ${report.problems.filter((p) => p.code === "secret").length})`;
  }
  const seconds = (performance.now() - started) / 1000;
  const maxRssMb = (process.resourceUsage().maxRSS * 1024) / 1e6;
  process.stdout.write(`${JSON.stringify({ seconds, maxRssMb, result })}\n`);
  return 0;
}

function totalSize(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Synthetic transcripts shaped like OpenClaw's (pi session format): a header, model changes, user and assistant
// messages, tool calls with argument objects and long tool results (logs, code, JSON, URLs, snake_case, non-ASCII).
// Lines average about 2 KB. A few planted secrets exercise the slow path.

const WORDS = (
  "the server deploy config restart memory session token user assistant tool result error warning request " +
  "response database migration schedule reminder invoice meeting summary build test release branch commit " +
  "Tokio Straße café naïve résumé 東京 データ ✓ 🙂 — “quoted” also should would could review latency"
).split(" ");
const LOG = [
  "2026-04-07T02:05:10.858Z INFO  http: GET /api/v1/sessions?limit=50 200 12ms",
  "npm warn deprecated inflight@1.0.6: This module is not supported, and leaks memory.",
  "Error: ENOENT: no such file or directory, open '/data/agents/main/sessions/sessions.json.lock'",
  "    at Object.openSync (node:fs:573:18) at readFileSync (node:fs:452:35)",
  "export AWS_REGION=eu-central-1 NODE_ENV=production LOG_LEVEL=debug",
  "See https://docs.example.com/guide/getting-started#install-the-cli for details.",
  "def load_config(path: str) -> dict:  # snake_case_name, __init__, MAX_RETRIES = 3",
  '{"id": "f9317ee6", "status": "ok", "items": [1, 2, 3], "next_cursor": null}',
  "remote: Enumerating objects: 42, done. Total 42 (delta 17), reused 0 (delta 0)",
  "✓ 128 tests passed (3.2s) — coverage 91.4 %",
  "\u001b[32m✓\u001b[0m build \u001b[1mok\u001b[0m in 1.2s",
];
// An HTTP API's JSON body written by an encoder that escapes '/' (PHP's default): a second level of escapes in
// the transcript, which the secret scan decodes. In a few percent of tool results.
const API_BODY =
  '{"status":"ok","next":"https:\\/\\/api.example.com\\/v1\\/items?page=2","name":"caf\\u00e9"}';

function text(random: () => number, min: number, max: number): string {
  const target = min + Math.floor(random() * (max - min));
  let out = "";
  while (out.length < target) {
    out += WORDS[Math.floor(random() * WORDS.length)];
    out += random() < 0.08 ? ".\n" : " ";
  }
  return out;
}

function logText(random: () => number, min: number, max: number): string {
  const target = min + Math.floor(random() * (max - min));
  let out = "";
  while (out.length < target) out += `${LOG[Math.floor(random() * LOG.length)]}\n`;
  return out;
}

const SECRETS = [
  () => `ghp_${"aB3dE5gH7jK9mN1pQ2rS4tU6vW8xY0zA1bC2"}`,
  () => `sk_live_${"Zq8vLm2pWx9rT4bN6cJ3hK5d"}`,
  () => `postgres://billing:Zq8vLm2pWx9r@db.internal.corp:5432/app`,
  // escaped forms: in an API body with '/' escaped, and a token with ASCII written as \uXXXX
  () => `{"dsn":"postgres:\\/\\/billing:Zq8vLm2pWx9r@db.internal.corp:5432\\/app"}`,
  () => `{"token":"\\u0067\\u0068\\u0070_${"aB3dE5gH7jK9mN1pQ2rS4tU6vW8xY0zA1bC2"}"}`,
];

async function generate(dir: string, bytes: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const random = rng(42);
  let written = 0;
  let file = 0;
  const index: Record<string, unknown> = {};
  while (written < bytes) {
    // One large transcript, then many medium ones, as real folders have.
    const size = file === 0 ? Math.min(64e6, bytes / 4) : 2e6 + random() * 6e6;
    const id = `${(0x10000000 + file).toString(16)}-0000-4000-a000-${String(file).padStart(12, "0")}`;
    const name = `${id}.jsonl`;
    const out = createWriteStream(join(dir, name));
    let t = Date.parse("2026-04-07T02:04:55.700Z") + file * 3_600_000;
    let size0 = 0;
    const put = async (value: unknown) => {
      const line = `${JSON.stringify(value)}\n`;
      size0 += Buffer.byteLength(line);
      if (!out.write(line)) await once(out, "drain");
    };
    await put({
      type: "session",
      version: 3,
      id,
      timestamp: new Date(t).toISOString(),
      cwd: "/home/node/.openclaw/workspace",
    });
    let parent: string | null = null;
    let n = 0;
    while (size0 < size) {
      t += 1000 + Math.floor(random() * 60_000);
      const entry = (n++).toString(16).padStart(8, "0");
      const base = { id: entry, parentId: parent, timestamp: new Date(t).toISOString() };
      parent = entry;
      const pick = random();
      if (pick < 0.25) {
        const planted = random() < 0.0004 ? ` ${SECRETS[Math.floor(random() * SECRETS.length)]()}` : "";
        await put({
          type: "message",
          ...base,
          message: {
            role: "user",
            content: [{ type: "text", text: text(random, 40, 600) + planted }],
            timestamp: t,
          },
        });
      } else if (pick < 0.55) {
        await put({
          type: "message",
          ...base,
          message: {
            role: "assistant",
            content: [
              { type: "text", text: text(random, 200, 2500) },
              ...(random() < 0.5
                ? [
                    {
                      type: "toolCall",
                      id: `call_${entry}`,
                      name: "exec",
                      arguments: {
                        command: `grep -rn "load_config" /data/workspace/src --include=*.py | head -n ${n % 50}`,
                      },
                    },
                  ]
                : []),
            ],
            api: "anthropic-messages",
            provider: "anthropic",
            model: "claude-sonnet-4",
            usage: {
              input: 1200 + n,
              output: 80 + n,
              cacheRead: 0,
              cacheWrite: 0,
              totalTokens: 1280 + 2 * n,
            },
            stopReason: "stop",
            timestamp: t,
          },
        });
      } else if (pick < 0.95) {
        await put({
          type: "message",
          ...base,
          message: {
            role: "toolResult",
            toolCallId: `call_${entry}`,
            toolName: "exec",
            content: [
              { type: "text", text: logText(random, 300, 5000) + (random() < 0.03 ? `\n${API_BODY}` : "") },
            ],
            isError: false,
            timestamp: t,
          },
        });
      } else {
        await put({
          type: "custom",
          ...base,
          customType: "openclaw.cache-ttl",
          data: { ttlMs: 300000, provider: "anthropic" },
        });
      }
    }
    out.end();
    await once(out, "finish");
    index[`agent:main:bench:${file}`] = { sessionId: id, updatedAt: t };
    written += size0;
    file++;
  }
  const out = createWriteStream(join(dir, "sessions.json"));
  out.end(JSON.stringify(index, null, 2));
  await once(out, "finish");
}

await runMain(main, "bench");

/**
 * The apply: `files` changed transcripts (~2 KB each, replacing older versions already on disk) moved into a
 * memory folder by the journaled transaction and by plain renames, alternating; the best round of each counts.
 * Only applyStaged() is timed; the old files are flushed (`sync`) before, as a day-old history would be.
 */
async function benchApply(dir: string, files: number, rounds: number) {
  const root = mkdtempSync(join(dir, "apply-"));
  const times = { journaled: [] as number[], plain: [] as number[] };
  const random = rng(7);
  const line = (n: number) =>
    `${JSON.stringify({ type: "message", id: `m${n}`, text: text(random, 1800, 2200) })}\n`;
  try {
    for (let round = 0; round < rounds; round++) {
      for (const kind of ["plain", "journaled"] as const) {
        const memory = join(root, `${kind}-${round}`, "memory");
        mkdirSync(join(memory, "sessions"), { recursive: true });
        const body = line(round);
        for (let i = 0; i < files; i++) writeFileSync(join(memory, "sessions", `s${i}.jsonl`), body);
        spawnSync("sync");
        const staging = await createStaging(memory);
        const changes: StagedChange[] = [];
        for (let i = 0; i < files; i++) {
          const staged = join(staging, `s${i}.jsonl`);
          writeFileSync(staged, body + body);
          changes.push({ target: join("sessions", `s${i}.jsonl`), staged });
        }
        const started = performance.now();
        await applyStaged(memory, staging, changes, { durable: kind === "journaled", kind: "bench" });
        times[kind].push((performance.now() - started) / 1000);
        rmSync(join(root, `${kind}-${round}`), { recursive: true, force: true });
        rmSync(staging, { recursive: true, force: true });
        process.stderr.write(
          `bench: round ${round + 1} apply ${kind.padEnd(9)} ${files} files in ${times[kind].at(-1)!.toFixed(2)} s\n`,
        );
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const journaled = Math.min(...times.journaled);
  const plain = Math.min(...times.plain);
  return {
    files,
    journaled: { seconds: journaled, all: times.journaled },
    plain: { seconds: plain, all: times.plain },
    ratio: journaled / plain,
  };
}
