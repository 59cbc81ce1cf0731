// Child processes, in one place: a runner for short commands (a version query, a machine list, `git`, the local
// OpenClaw CLI) that collects their output with a time limit, and shell quoting. Long remote calls that stream
// their output are the transports' job (remote/transport.mts).
import { spawn } from "node:child_process";

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Killed (SIGKILL) after this long; `timedOut` says so. */
  timeoutMs?: number;
  /** Written to the child's stdin (closed right away when absent). */
  input?: string | Buffer;
}

export interface RunResult {
  /** Exit code; null when it was killed by a signal or could not start. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Why it could not start (ENOENT: no such command). */
  spawnError?: NodeJS.ErrnoException;
  /** The command does not exist or is not executable. */
  missing: boolean;
}

/** Runs `argv` to completion and collects stdout and stderr as UTF-8; never rejects. */
export function runProcess(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    child.stdout!.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr!.on("data", (chunk: Buffer) => err.push(chunk));
    if (options.input !== undefined && child.stdin) {
      child.stdin.on("error", () => {});
      child.stdin.end(options.input);
    }
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, options.timeoutMs);
    const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString("utf8");
    child.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({
        code: null,
        signal: null,
        stdout: text(out),
        stderr: text(err),
        timedOut,
        spawnError: error,
        missing: error.code === "ENOENT" || error.code === "EACCES",
      });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: text(out), stderr: text(err), timedOut, missing: false });
    });
  });
}

/** Quotes one argument for a POSIX shell (an ssh remote's login shell, a command line shown to the user). */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
