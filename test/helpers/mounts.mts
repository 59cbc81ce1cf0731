// Real filesystems with the properties a test needs, mounted by the test set-up (root, /dev/fuse; .ci/run
// installs the Debian packages): a case-insensitive one (vfat through fusefat: this kernel mounts neither vfat
// nor casefold ext4 itself) and one whose writes fail with a chosen errno (test/helpers/faultfs.py, FUSE).
// Where a mount is impossible, a test is skipped with the reason on a developer's machine and fails under CI.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestContext } from "node:test";

export interface Mount {
  path: string;
  unmount(): Promise<void>;
}

function run(command: string, args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: "utf8" });
  return {
    ok: result.status === 0,
    output: `${result.error?.message ?? ""}${result.stdout ?? ""}${result.stderr ?? ""}`.trim(),
  };
}

/** Skips the test with `why` on a developer's machine; under CI (CI=true) a missing mount is a failure. */
export function cannotMount(t: TestContext, why: string): void {
  if (process.env.CI) throw new Error(`${why} (CI must be able to: .ci/run installs what it needs)`);
  t.skip(why);
}

async function unmount(path: string, child?: ChildProcess): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (run("umount", [path]).ok || !isMounted(path)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (child && child.exitCode === null) {
    await new Promise((resolve) => {
      const timer = setTimeout(() => (child.kill("SIGKILL"), resolve(null)), 5000);
      child.once("exit", () => (clearTimeout(timer), resolve(null)));
    });
  }
}

function isMounted(path: string): boolean {
  return run("mountpoint", ["-q", path]).ok;
}

/** A fresh FAT filesystem (case-insensitive, no hard links, no chmod) of `mib` MiB mounted at `path`. */
export async function mountVfat(path: string, mib = 32): Promise<Mount | string> {
  mkdirSync(path, { recursive: true });
  const image = `${path}.img`;
  const made = run("sh", ["-c", `truncate -s ${mib}M "$1" && mkfs.vfat "$1"`, "sh", image]);
  if (!made.ok) return `cannot make a vfat image (mkfs.vfat from dosfstools): ${made.output}`;
  const child = spawn("fusefat", ["-f", "-o", "rw+", image, path], { stdio: "ignore" });
  const failed = new Promise<string>((resolve) => {
    child.once("error", (error) => resolve(`cannot run fusefat: ${error.message}`));
    child.once("exit", (code) => resolve(`fusefat exited with ${code}`));
  });
  for (let i = 0; i < 100 && !isMounted(path); i++) {
    const early = await Promise.race([failed, new Promise((r) => setTimeout(() => r(undefined), 50))]);
    if (typeof early === "string") return early;
  }
  if (!isMounted(path)) {
    child.kill();
    return "fusefat did not mount the image within 5 s";
  }
  return { path, unmount: () => unmount(path, child) };
}

const FAULTFS = join(dirname(fileURLToPath(import.meta.url)), "faultfs.py");

/**
 * `backing` mounted at `path` through faultfs.py: with `fail`, every write to a file whose path below the mount
 * matches `fail.glob` fails with `fail.errno` (EIO, ENOSPC, ...), the way a failing disk fails; with `nameMax`,
 * names longer than that many bytes are refused (ENAMETOOLONG), as on eCryptfs (143).
 */
export async function mountFaulty(
  backing: string,
  path: string,
  options: { fail?: { glob: string; errno?: string }; nameMax?: number },
): Promise<Mount | string> {
  mkdirSync(backing, { recursive: true });
  mkdirSync(path, { recursive: true });
  const python = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  const args = [FAULTFS, backing, path];
  if (options.fail) args.push("--fail", `${options.fail.glob}:${options.fail.errno ?? "EIO"}`);
  if (options.nameMax) args.push("--name-max", String(options.nameMax));
  const child = spawn(python, args, { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const ready = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve("faultfs did not mount within 10 s"), 10_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("mounted")) (clearTimeout(timer), resolve(undefined));
    });
    child.once("error", (error) => (clearTimeout(timer), resolve(`cannot run ${python}: ${error.message}`)));
    child.once(
      "exit",
      () => (clearTimeout(timer), resolve(`faultfs exited: ${err.trim().split("\n").pop()}`)),
    );
  });
  if (ready) {
    child.kill();
    return `${ready} (needs /dev/fuse, root and Debian's python3-fusepy)`;
  }
  return { path, unmount: () => unmount(path, child) };
}
