// Runs the node:test suite (node:test's run(), under this process's tsx): lists the test files explicitly and
// fails when none are found.
// Usage: npx tsx test/run.mts [--quick] [filter...]   (filters keep test files whose path contains one of them)
//
// Two tiers. `npm test` runs every file (what CI runs). `--quick` (`npm run test:quick`, for the edit loop) leaves
// out the files that need the real programs scripts/dev/test-tools.mts installs into .tools/ (OpenClaw, Node 24)
// or that start an sshd. Such a file says so itself, in its header, with one line of this form:
//     // test tier: full — <what it needs>
// so a new slow test file needs no edit here: write the line and --quick skips it.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { finished } from "node:stream/promises";
import { run } from "node:test";
import { spec } from "node:test/reporters";
import { globby } from "globby";

const FULL_TIER_MARK = /^\/\/ test tier: full\b\s*(?:—\s*)?(.*)$/m;

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const filters = args.filter((arg) => arg !== "--quick");
const all = (await globby("test/**/*.test.mts")).sort();
let files = all.filter((file) => !filters.length || filters.some((f) => file.includes(f)));
if (quick) {
  const kept: string[] = [];
  for (const file of files) {
    const mark = FULL_TIER_MARK.exec(readFileSync(file, "utf8"));
    if (!mark) kept.push(file);
    else process.stderr.write(`test/run: --quick leaves out ${file} (needs ${mark[1] || "the full tier"})\n`);
  }
  files = kept;
}
if (files.length === 0) {
  process.stderr.write(
    `test/run: no test files found${filters.length ? ` matching ${filters.join(", ")}` : ""}${quick ? " in the quick tier" : ""}\n`,
  );
  process.exit(1);
}
// The longest files start first: with two files at a time the run ends when its longest file does, so a long
// file started last is a tail the other core idles through. Seconds each took in the quick tier on a 2-vCPU
// machine (2026-12-01); the list only orders the run (a file not in it starts after these, in name order), so a
// stale figure costs time, never a test.
const MEASURED_SECONDS: Record<string, number> = {
  "test/names.test.mts": 26,
  "test/sync-app.test.mts": 20,
  "test/apply.test.mts": 19,
  "test/prune.test.mts": 19,
  "test/sync.test.mts": 17,
  "test/sync-workspace.test.mts": 17,
  "test/sync-guards.test.mts": 14,
  "test/transport.test.mts": 14,
  "test/verify.test.mts": 14,
  "test/hook.test.mts": 12,
  "test/stream.test.mts": 6,
};
files.sort((a, b) => (MEASURED_SECONDS[b] ?? 0) - (MEASURED_SECONDS[a] ?? 0) || a.localeCompare(b));

Object.assign(process.env, {
  NO_COLOR: process.env.NO_COLOR ?? "1",
  // A quick-tier file that reaches for .tools/ anyway fails with a sentence naming the header line.
  ...(quick ? { OCSYNC_TEST_TIER: "quick" } : {}),
  // Tests make real commits; a fresh machine may have no git identity.
  GIT_AUTHOR_NAME: process.env.GIT_AUTHOR_NAME ?? "openclaw-memory-sync tests",
  GIT_AUTHOR_EMAIL: process.env.GIT_AUTHOR_EMAIL ?? "tests@localhost",
  GIT_COMMITTER_NAME: process.env.GIT_COMMITTER_NAME ?? "openclaw-memory-sync tests",
  GIT_COMMITTER_EMAIL: process.env.GIT_COMMITTER_EMAIL ?? "tests@localhost",
});
// node:test's run() rather than `node --test`: the command line sorts the files by name, run() keeps this order.
// Each file runs in its own process under this process's flags (tsx). The quick tier runs as many files at a time
// as the machine has cores; the full tier one fewer, node's default (on 2 vCPUs one file at a time).
let failed = false;
const stream = run({
  files,
  concurrency: quick ? availableParallelism() : Math.max(1, availableParallelism() - 1),
});
stream.on("test:fail", () => {
  failed = true;
});
stream.compose(spec).pipe(process.stdout);
await finished(stream);
process.exitCode = failed ? 1 : 0;
