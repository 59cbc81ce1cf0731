// Runs a project script as a child process, the way a user would, and collects its output.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const TSX = import.meta.resolve("tsx");

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  input?: string | Buffer;
  timeoutMs?: number;
}

/** Runs `scripts/<script>` (e.g. "sync-memory.mts") with tsx under this Node. */
export function runScript(script: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return runCommand(process.execPath, ["--import", TSX, join(ROOT, "scripts", script), ...args], options);
}

export function runCommand(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries({ ...process.env, NO_COLOR: "1", ...options.env })) {
      if (value !== undefined) env[key] = value;
    }
    const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
  });
}

/** Starts `scripts/<script>` without waiting, for tests that signal it mid-run. */
export function startScript(
  script: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ["--import", TSX, join(ROOT, "scripts", script), ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
}

/** `sync-memory.mts --local --state-dir STATE --memory MEMORY ...extra`, the call most sync tests make. */
export function syncLocal(
  stateDir: string,
  memory: string,
  extra: string[] = [],
  options: RunOptions = {},
): Promise<RunResult> {
  return runScript(
    "sync-memory.mts",
    ["--local", "--state-dir", stateDir, "--memory", memory, ...extra],
    options,
  );
}

/** prune's arguments that prune every session but the newest: idle for more than a day on 2030-01-01, keep one. */
export function pruneAllButNewestArgs(memory: string): string[] {
  return ["--memory", memory, "--older-than", "1d", "--keep-last", "1", "--now", "2030-01-01T00:00:00Z"];
}
