// Activates hooks/pre-commit for this clone: sets `core.hooksPath` to this folder when the project is inside a
// git work tree. Run by npm's `prepare` script; never fails an install (no git, not a repository, CI, a
// hooksPath someone else set: it says so and moves on). Plain JavaScript: it runs before anything is built.
import { spawnSync } from "node:child_process";
import { dirname, relative } from "node:path";
import { fileURLToPath } from "node:url";

const project = dirname(dirname(fileURLToPath(import.meta.url)));

function git(...args) {
  const result = spawnSync("git", args, {
    cwd: project,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

try {
  if (git("rev-parse", "--is-inside-work-tree") !== "true") process.exit(0);
  const top = git("rev-parse", "--show-toplevel");
  if (!top) process.exit(0);
  const wanted = relative(top, `${project}/hooks`).split("\\").join("/") || "hooks";
  const current = git("config", "--local", "--get", "core.hooksPath");
  if (current === wanted) process.exit(0);
  if (current && current !== wanted) {
    console.error(
      `hooks: core.hooksPath is already ${current}; leaving it. To use this project's hook: git config core.hooksPath ${wanted}`,
    );
    process.exit(0);
  }
  if (git("config", "--local", "core.hooksPath", wanted) !== undefined) {
    console.error(
      `hooks: pre-commit hook active (core.hooksPath=${wanted}): commits touching memory/ are verified`,
    );
  }
} catch {
  // never fail an install
}
process.exit(0);
