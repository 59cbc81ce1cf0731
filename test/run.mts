// Runs the node:test suite: lists the test files explicitly (Node 20 expands no globs and `tsx --test` with no
// files passes silently) and fails when none are found.
// Usage: npx tsx test/run.mts [--quick] [filter...]   (filters keep test files whose path contains one of them)
//
// Two tiers. `npm test` runs every file (what CI runs). `--quick` (`npm run test:quick`, for the edit loop) leaves
// out the files that need the real programs scripts/dev/test-tools.mts installs into .tools/ (OpenClaw, Node 24)
// or that start an sshd. Such a file says so itself, in its header, with one line of this form:
//     // test tier: full — <what it needs>
// so a new slow test file needs no edit here: write the line and --quick skips it.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
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
// The quick tier runs as many files at a time as the machine has cores. Node's default is one fewer: on 2 vCPUs
// one file at a time, and a core idles while that file's test waits for the script it started.
const concurrency = quick ? [`--test-concurrency=${availableParallelism()}`] : [];
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-reporter=spec", ...concurrency, ...files],
  {
    stdio: "inherit",
    env: {
      ...process.env,
      NO_COLOR: process.env.NO_COLOR ?? "1",
      // A quick-tier file that reaches for .tools/ anyway fails with a sentence naming the header line.
      ...(quick ? { OCSYNC_TEST_TIER: "quick" } : {}),
      // Tests make real commits; a fresh machine may have no git identity.
      GIT_AUTHOR_NAME: process.env.GIT_AUTHOR_NAME ?? "openclaw-memory-sync tests",
      GIT_AUTHOR_EMAIL: process.env.GIT_AUTHOR_EMAIL ?? "tests@localhost",
      GIT_COMMITTER_NAME: process.env.GIT_COMMITTER_NAME ?? "openclaw-memory-sync tests",
      GIT_COMMITTER_EMAIL: process.env.GIT_COMMITTER_EMAIL ?? "tests@localhost",
    },
  },
);
process.exit(result.status ?? 1);
