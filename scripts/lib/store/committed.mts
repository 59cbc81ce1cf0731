// Which files of a folder git already holds, byte for byte, in HEAD: those can leave the working tree and still
// be recovered from history. Read-only: runs git with GIT_OPTIONAL_LOCKS=0, so it never takes .git/index.lock.
import { execFile } from "node:child_process";
import { realpath } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { parseStatus } from "./git.mts";

export interface GitView {
  /** The repository's top-level folder. */
  root: string;
  /** The real path of the folder asked about; `committed` holds paths under it. */
  dir: string;
  /** HEAD's commit id; undefined in a repository without commits. */
  head?: string;
  /** Absolute paths (under the real path of the folder asked about) whose content is exactly HEAD's. */
  committed: Set<string>;
}

function git(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "git",
      args,
      {
        cwd,
        encoding: "utf8",
        maxBuffer: 512 * 1024 * 1024,
        env: { ...process.env, GIT_OPTIONAL_LOCKS: "0" },
      },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
  });
}

/** What git knows about `dir`, or undefined when it is not inside a work tree (or git is not installed). */
export async function gitView(dir: string): Promise<GitView | undefined> {
  let root: string;
  try {
    root = (await git(dir, ["rev-parse", "--show-toplevel"])).trim();
  } catch {
    return undefined;
  }
  if (!root) return undefined;
  root = await realpath(root);
  const real = await realpath(dir);
  const rel = relative(root, real).split(sep).join("/") || ".";
  let head: string | undefined;
  try {
    head = (await git(root, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])).trim() || undefined;
  } catch {
    head = undefined;
  }
  const committed = new Set<string>();
  if (!head) return { root, dir: real, committed };
  const tracked = (await git(root, ["ls-tree", "-r", "-z", "--name-only", "HEAD", "--", rel]))
    .split("\0")
    .filter(Boolean);
  const status = await git(root, [
    "status",
    "--porcelain=v1",
    "-z",
    "--untracked-files=all",
    "--ignored=matching",
    "--",
    rel,
  ]);
  const dirty = new Set<string>();
  for (const entry of parseStatus(status)) {
    dirty.add(entry.path);
    if (entry.from !== undefined) dirty.add(entry.from);
  }
  for (const path of tracked) if (!dirty.has(path)) committed.add(join(root, path));
  return { root, dir: real, head, committed };
}
