// Git is the safety net: sync and prune only overwrite what a commit holds.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";

function git(cwd: string, args: string[]): { code: number | null; stdout: string } {
  const result = spawnSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (result.error) return { code: null, stdout: "" };
  return { code: result.status, stdout: result.stdout };
}

/** The nearest existing folder at or above `path`. */
function existingAncestor(path: string): string {
  let dir = resolve(path);
  while (!existsSync(dir)) {
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return dir;
}

/** The work tree holding `path`, or undefined when it is not in one (or git is not installed). */
export function workTreeOf(path: string): string | undefined {
  const result = git(existingAncestor(path), ["rev-parse", "--show-toplevel"]);
  return result.code === 0 ? result.stdout.trim() : undefined;
}

/**
 * Uncommitted changes under `dir` (modified, staged, deleted or untracked-but-not-ignored files), as paths
 * relative to the work tree; undefined when `dir` is not inside a git work tree.
 */
export function uncommittedChanges(dir: string): string[] | undefined {
  const top = workTreeOf(dir);
  if (!top) return undefined;
  const rel = relative(top, resolve(dir)) || ".";
  const result = git(top, ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--", rel]);
  if (result.code !== 0) return undefined;
  return result.stdout
    .split("\0")
    .filter(Boolean)
    .filter((entry) => /^[ MADRCU?!]{2} /.test(entry))
    .map((entry) => entry.slice(3));
}
