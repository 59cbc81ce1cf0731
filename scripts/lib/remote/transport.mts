// How to reach the bot's machine: one interface, three transports. Each runs a remote program (a real file
// next to this module) with its source on stdin, never through a PTY, and hands its stdout to a consumer.
// Every call has an idle timeout; connection failures that are known to be transient are retried (the remote
// programs only read, so a retry is always safe).
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { PassThrough, type Readable } from "node:stream";
import { Failure } from "../cli.mts";
import { shellQuote } from "../proc.mts";

export type RemoteProgram = "discover.sh" | "pull.sh" | "export-sqlite.mjs" | "restore.sh";

export interface CallOptions<T> {
  program: RemoteProgram;
  args: string[];
  /** Reads the program's stdout; gets the attempt number (1-based) so it can start clean on a retry. */
  consume: (stdout: Readable, attempt: number) => Promise<T>;
  /** Kill the call when no stdout byte arrived for this long. */
  idleTimeoutMs: number;
  /** What the call does, for messages ("discovery", "transfer"). */
  label: string;
  /** A consumer error worth one more full attempt (e.g. a file that changed while it was read). */
  retryOn?: (error: unknown) => boolean;
}

export interface ProcessOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  timedOut: boolean;
  spawnError?: NodeJS.ErrnoException;
  /** Whether any stdout byte arrived (a retry is only automatic before that). */
  sawOutput: boolean;
  /** The call was stopped because its output did not hold up (the consumer's error explains it). */
  stoppedByConsumer?: boolean;
}

/** What a transport says about a failed call: a sentence, and whether trying again may help. */
export interface Diagnosis {
  message: string;
  transient: boolean;
}

const RETRIES = Number(process.env.OCSYNC_RETRIES ?? 3);
const RETRY_DELAY_MS = Number(process.env.OCSYNC_RETRY_DELAY_MS ?? 2000);
const STDERR_CAP = 64 * 1024;
/** How long a command whose output was rejected may take to exit on its own before it is stopped. */
const CONSUMER_GRACE_MS = 1000;

/** Remote calls in flight, so that an interrupted run can stop them (their process groups). */
const running = new Set<number>();

let stopping = false;
const sleepers = new Set<() => void>();

/** A pause between retries that an interrupt ends at once. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      sleepers.delete(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    sleepers.add(done);
  });
}

/** Stops every remote call in flight (SIGTERM to its process group) and lets no new one start or retry. */
export function stopRemoteCalls(): void {
  stopping = true;
  for (const wake of [...sleepers]) wake();
  for (const pid of running) {
    try {
      process.kill(-pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
}

/** Lets remote calls start again after stopRemoteCalls (restore's clean-up of the staging folder on the bot). */
export function resumeRemoteCalls(): void {
  stopping = false;
}

/**
 * V8 flags for the Node programs run on the bot (export-sqlite.mjs): a 1 MiB young generation and lite mode (no
 * optimizing compiler) keep the exporter's peak RSS under 64 MB on Node 24 next to the gateway, at about twice the
 * CPU time; see BENCHMARKS.md.
 */
export const REMOTE_NODE_FLAGS = ["--max-semi-space-size=1", "--lite-mode"];

export abstract class Transport {
  abstract readonly kind: "fly" | "ssh" | "local";
  /** Told before each automatic retry (a line for the user: the connect phase can take 20 s of retries). */
  onRetry?: (message: string) => void;
  /** "fly app my-bot, machine 148e…" — for messages and the summary. */
  abstract describe(): string;
  /** The local command that runs `remoteArgv` on the bot's machine. */
  protected abstract command(remoteArgv: string[]): { file: string; args: string[]; env?: NodeJS.ProcessEnv };
  /** Turns a failed call into a sentence; undefined leaves it to the generic message. */
  protected abstract diagnose(outcome: ProcessOutcome, label: string): Diagnosis | undefined;

  /**
   * Stores a local file on the bot's machine: its bytes go to the stdin of `sh -c 'cat > PATH'` in a call of
   * its own (a script read by `sh -s` cannot carry data after it). Not retried: the caller checks the stored
   * bytes' sha256 on the bot and removes them on failure.
   */
  async receive(options: {
    file: string;
    remoteDir: string;
    name: string;
    label: string;
    idleTimeoutMs: number;
  }) {
    const script = 'umask 077 && mkdir -p "$1" && cat > "$1/$2"';
    const { file, args, env } = this.command(["sh", "-c", script, "sh", options.remoteDir, options.name]);
    if (stopping) throw new Failure("interrupted before the remote call could start");
    const outcome = await new Promise<ProcessOutcome>((resolve) => {
      const outcome: ProcessOutcome = {
        code: null,
        signal: null,
        stderr: "",
        timedOut: false,
        sawOutput: false,
      };
      const child = spawn(file, args, {
        stdio: ["pipe", "ignore", "pipe"],
        env: env ?? process.env,
        detached: true,
      });
      if (child.pid) running.add(child.pid);
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          outcome.timedOut = true;
          try {
            process.kill(-child.pid!, "SIGKILL");
          } catch {
            child.kill("SIGKILL");
          }
        }, options.idleTimeoutMs);
      };
      arm();
      const source = createReadStream(options.file);
      source.on("data", arm);
      source.pipe(child.stdin);
      child.stdin.on("error", () => source.destroy());
      child.stderr.on("data", (chunk: Buffer) => {
        if (outcome.stderr.length < STDERR_CAP) outcome.stderr += chunk.toString("utf8");
      });
      child.on("error", (error: NodeJS.ErrnoException) => (outcome.spawnError = error));
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (child.pid) running.delete(child.pid);
        outcome.code = outcome.spawnError ? 127 : code;
        outcome.signal = signal;
        resolve(outcome);
      });
    });
    if (stopping) throw new Failure(`the ${options.label} was interrupted`);
    if (outcome.code === 0 && !outcome.timedOut) return;
    const diagnosis = this.explain(
      outcome,
      { label: options.label, idleTimeoutMs: options.idleTimeoutMs } as CallOptions<unknown>,
      undefined,
    );
    throw new Failure(diagnosis.message);
  }

  async call<T>(options: CallOptions<T>): Promise<T> {
    const source = await readFile(new URL(`./${options.program}`, import.meta.url));
    const remoteArgv = options.program.endsWith(".mjs")
      ? ["node", ...REMOTE_NODE_FLAGS, "--input-type=module", "-", ...options.args]
      : ["sh", "-s", "--", ...options.args];
    for (let attempt = 1; ; attempt++) {
      if (stopping) throw new Failure("interrupted before the remote call could start");
      const { value, outcome, consumeError } = await this.once(remoteArgv, source, options, attempt);
      if (stopping) throw new Failure(`the ${options.label} was interrupted`);
      if (outcome.code === 0 && !outcome.timedOut && consumeError === undefined) return value as T;
      const diagnosis = this.explain(outcome, options, consumeError);
      const consumerFailed = consumeError !== undefined && (outcome.code === 0 || outcome.stoppedByConsumer);
      const retryConsumer = consumerFailed && options.retryOn?.(consumeError);
      if (((diagnosis.transient && !outcome.sawOutput) || retryConsumer) && attempt < RETRIES) {
        this.onRetry?.(
          `${diagnosis.message.replace(/;.*$/, "")}: trying again in ${Math.round((RETRY_DELAY_MS * attempt) / 100) / 10}s (attempt ${attempt + 1} of ${RETRIES})`,
        );
        await pause(RETRY_DELAY_MS * attempt);
        continue;
      }
      const tries = attempt > 1 ? ` (tried ${attempt} times)` : "";
      throw new Failure(`${diagnosis.message}${tries}`);
    }
  }

  private explain(outcome: ProcessOutcome, options: CallOptions<unknown>, consumeError: unknown): Diagnosis {
    const label = options.label;
    if (outcome.spawnError) {
      return {
        message: `could not start ${this.command([]).file}: ${outcome.spawnError.message}`,
        transient: false,
      };
    }
    if (outcome.timedOut) {
      return {
        message: `the ${label} from ${this.describe()} stalled (no data for ${Math.round(
          options.idleTimeoutMs / 1000,
        )}s, the connection is probably dead); nothing was changed, run sync again`,
        transient: true,
      };
    }
    const remote = remoteError(outcome.stderr);
    if (outcome.code !== 0 && !(outcome.stoppedByConsumer && consumeError !== undefined && !remote)) {
      const known = this.diagnose(outcome, label);
      if (known) return known;
      if (remote) return { message: `the ${label} failed on the bot's machine: ${remote}`, transient: false };
      return {
        message: `the ${label} from ${this.describe()} failed (exit ${outcome.code ?? outcome.signal}): ${lastLine(outcome.stderr) || "no error text"}`,
        transient: false,
      };
    }
    // The command exited 0 but its output did not hold up: the stream consumer said why.
    const text = consumeError instanceof Error ? consumeError.message : String(consumeError);
    // Our side could not write what arrived (disk full, permission, I/O error): that is the one sentence.
    if ((consumeError as { kind?: string } | undefined)?.kind === "write")
      return { message: `${text}; nothing was changed`, transient: false };
    if (remote) return { message: `the ${label} failed on the bot's machine: ${remote}`, transient: false };
    return {
      message: `the ${label} from ${this.describe()} is incomplete: ${text}; nothing was changed`,
      transient: false,
    };
  }

  private once<T>(
    remoteArgv: string[],
    source: Buffer,
    options: CallOptions<T>,
    attempt: number,
  ): Promise<{ value?: T; outcome: ProcessOutcome; consumeError?: unknown }> {
    const { file, args, env } = this.command(remoteArgv);
    return new Promise((resolve) => {
      const outcome: ProcessOutcome = {
        code: null,
        signal: null,
        stderr: "",
        timedOut: false,
        sawOutput: false,
      };
      const child = spawn(file, args, {
        stdio: ["pipe", "pipe", "pipe"],
        env: env ?? process.env,
        detached: true,
      });
      if (child.pid) running.add(child.pid);
      let consumed: { value?: T; error?: unknown; done: boolean } = { done: false };
      const stdout = new PassThrough();
      let timer: NodeJS.Timeout | undefined;
      let killed = false;
      const kill = () => {
        child.stdout.resume();
        if (killed || child.exitCode !== null) return;
        killed = true;
        try {
          process.kill(-child.pid!, "SIGTERM");
        } catch {
          child.kill("SIGTERM");
        }
        setTimeout(() => {
          try {
            process.kill(-child.pid!, "SIGKILL");
          } catch {
            // already gone
          }
        }, 2000).unref();
      };
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          outcome.timedOut = true;
          kill();
          stdout.destroy(new Error("timed out"));
        }, options.idleTimeoutMs);
      };
      arm();
      child.stdout.on("data", (chunk: Buffer) => {
        outcome.sawOutput = true;
        // Once the consumer has given up (or the call timed out), the rest is drained and dropped.
        if (stdout.destroyed || consumed.done) return;
        arm();
        if (!stdout.write(chunk)) {
          // Our side is slow, not the bot: the idle clock stops until the consumer catches up.
          clearTimeout(timer);
          child.stdout.pause();
          stdout.once("drain", () => {
            arm();
            child.stdout.resume();
          });
        }
      });
      child.stdout.on("end", () => stdout.end());
      child.stderr.on("data", (chunk: Buffer) => {
        if (outcome.stderr.length < STDERR_CAP) outcome.stderr += chunk.toString("utf8");
      });
      child.stdin.on("error", () => {});
      child.stdin.end(source);

      let exited = false;
      const settle = () => {
        if (!consumed.done || !exited) return;
        clearTimeout(timer);
        resolve({ value: consumed.value, outcome, consumeError: consumed.error });
      };
      options
        .consume(stdout, attempt)
        .then((value) => (consumed = { value, done: true }))
        .catch((error: unknown) => {
          consumed = { error, done: true };
          // Drain what is left so the child is not blocked on a full pipe. A stream that ended early usually
          // means the command is exiting with its own error (a dropped session): give it a moment to say so,
          // and only stop it (and let the consumer's error speak) if it is still running after that.
          stdout.resume();
          const grace = setTimeout(() => {
            if (child.exitCode === null && child.signalCode === null) {
              outcome.stoppedByConsumer = true;
              kill();
            }
          }, CONSUMER_GRACE_MS);
          child.once("close", () => clearTimeout(grace));
        })
        .finally(settle);
      child.on("error", (error: NodeJS.ErrnoException) => {
        outcome.spawnError = error;
        stdout.end();
      });
      child.on("close", (code, signal) => {
        if (child.pid) running.delete(child.pid);
        outcome.code = outcome.spawnError ? 127 : code;
        outcome.signal = signal;
        exited = true;
        settle();
      });
    });
  }
}

/** The sentence a remote program wrote as `ocsync-error: ...` on stderr. */
export function remoteError(stderr: string): string | undefined {
  const match = /^ocsync-error: (.+)$/m.exec(stderr);
  return match?.[1].trim();
}

export function lastLine(text: string): string {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.at(-1) ?? "";
}

/** The state dir, agent and patterns are passed as arguments; refuse what could not travel intact. */
export function checkRemoteArg(arg: string, what: string): string {
  if (/[\0\n\r]/.test(arg) || arg.includes("'")) {
    throw new Failure(
      `${what} ${JSON.stringify(arg)} holds characters that cannot be passed to the bot's machine`,
      2,
    );
  }
  return arg;
}

export class LocalTransport extends Transport {
  readonly kind = "local" as const;
  describe(): string {
    return "this machine";
  }
  protected command(remoteArgv: string[]) {
    return { file: remoteArgv[0] ?? "sh", args: remoteArgv.slice(1) };
  }
  protected diagnose(): Diagnosis | undefined {
    return undefined;
  }
}

export interface SshTarget {
  user?: string;
  host: string;
  port?: number;
}

/** Parses `[user@]host[:port]` (IPv6 as `[::1]:2222`). */
export function parseSshTarget(text: string): SshTarget {
  const match = /^(?:([^@\s]+)@)?(\[[0-9a-fA-F:]+\]|[^:@\s[\]]+)(?::(\d{1,5}))?$/.exec(text);
  if (!match) throw new Failure(`--ssh ${JSON.stringify(text)} is not of the form [user@]host[:port]`, 2);
  const port = match[3] ? Number(match[3]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535))
    throw new Failure(`--ssh port ${port} is out of range`, 2);
  return { user: match[1], host: match[2].replace(/^\[|\]$/g, ""), port };
}

export class SshTransport extends Transport {
  readonly kind = "ssh" as const;
  constructor(
    readonly target: SshTarget,
    readonly extraOptions: string[] = [],
  ) {
    super();
  }
  describe(): string {
    const { user, host, port } = this.target;
    return `${user ? `${user}@` : ""}${host}${port ? `:${port}` : ""} over ssh`;
  }
  protected command(remoteArgv: string[]) {
    const { user, host, port } = this.target;
    const args = [
      "-T",
      "-o",
      "BatchMode=yes",
      "-o",
      "ConnectTimeout=20",
      "-o",
      "ServerAliveInterval=15",
      "-o",
      "ServerAliveCountMax=4",
      ...this.extraOptions,
    ];
    if (port) args.push("-p", String(port));
    if (user) args.push("-l", user);
    args.push("--", host, remoteArgv.map(shellQuote).join(" "));
    return { file: process.env.OCSYNC_SSH ?? "ssh", args };
  }
  protected diagnose(outcome: ProcessOutcome): Diagnosis | undefined {
    if (outcome.code !== 255) return undefined;
    const text = lastLine(outcome.stderr);
    if (/permission denied|host key verification failed|no such identity/i.test(outcome.stderr)) {
      return {
        message: `ssh to ${this.target.host} was refused (${text}); check the user, the key and known_hosts`,
        transient: false,
      };
    }
    if (/could not resolve hostname/i.test(outcome.stderr)) {
      return { message: `ssh could not find host ${this.target.host} (${text})`, transient: false };
    }
    return {
      message: `could not reach ${this.describe()} (${text || "connection failed"}); check that the host is up and try again`,
      transient: /refused|timed out|reset|no route|unreachable|closed|broken pipe/i.test(outcome.stderr),
    };
  }
}
