// Runs the whole node:test suite: lists the test files explicitly (Node 20 expands no globs and `tsx --test`
// with no files passes silently) and fails when none are found.
// Usage: npx tsx test/run.mts [filter...]   (filters keep test files whose path contains one of them)
import { spawnSync } from "node:child_process";
import { globby } from "globby";

const filters = process.argv.slice(2);
const files = (await globby("test/**/*.test.mts")).filter(
  (file) => !filters.length || filters.some((f) => file.includes(f)),
);
if (files.length === 0) {
  process.stderr.write(
    `test/run: no test files found${filters.length ? ` matching ${filters.join(", ")}` : ""}\n`,
  );
  process.exit(1);
}
const result = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", ...files], {
  stdio: "inherit",
  env: {
    ...process.env,
    NO_COLOR: process.env.NO_COLOR ?? "1",
    // Tests make real commits; a fresh machine may have no git identity.
    GIT_AUTHOR_NAME: process.env.GIT_AUTHOR_NAME ?? "openclaw-memory-sync tests",
    GIT_AUTHOR_EMAIL: process.env.GIT_AUTHOR_EMAIL ?? "tests@localhost",
    GIT_COMMITTER_NAME: process.env.GIT_COMMITTER_NAME ?? "openclaw-memory-sync tests",
    GIT_COMMITTER_EMAIL: process.env.GIT_COMMITTER_EMAIL ?? "tests@localhost",
  },
});
process.exit(result.status ?? 1);
