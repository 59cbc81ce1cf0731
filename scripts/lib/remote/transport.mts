// How to reach the bot's machine: the one interface every transport implements (fly.mts, ssh.mts, local.mts; the
// choice is made in connect.mts). A transport only says which local command runs a remote argv and how to read
// its failures; this module does the rest:
//   * call(): runs a remote program (a real file next to this module) with its source on stdin, never through a
//     PTY, and hands its stdout to a consumer;
//   * receive(): sends data the other way, storing stdin in a file on the bot's machine (`sh -s` cannot carry
//     data after its script, so a restore stores the data first and applies it with a second call()).
// Every call has an idle timeout; connection failures that are known to be transient are retried (the remote
// programs only read, and receive() writes a temporary renamed into place, so a retry is always safe).
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { PassThrough, Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { Failure } from "../cli.mts";
import { bundleScript, callKey, parseBundle, type RemoteCall } from "./bundle.mts";

export type RemoteProgram = "discover.sh" | "pull.sh" | "export-sqlite.mjs" | "restore.sh" | "workspace.sh";
export type TransportKind = "fly" | "ssh" | "local";

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

export interface ReceiveOptions {
  /** The file on the bot's machine that gets the data, an absolute path (written as `<path>.part`, then renamed;
   * missing folders are created). */
  path: string;
  /** The data, made afresh for every attempt. */
  data: () => Readable | Buffer;
  /** Kill the call when no byte moved either way for this long. */
  idleTimeoutMs: number;
  /** What the call does, for messages ("upload"). */
  label: string;
}

/** Stores stdin in "$1" on the remote (its folder created if need be): a private temporary, renamed into place
 * once complete. */
const RECEIVE_SCRIPT =
  'umask 077 && d=${1%/*} && mkdir -p -- "${d:-/}" && cat > "$1.part" && mv -f -- "$1.part" "$1"';

/** What a transport says about a failed call: a sentence, and whether trying again may help. */
export interface Diagnosis {
  message: string;
  transient: boolean;
}

const RETRIES = Number(process.env.OCSYNC_RETRIES ?? 3);
const RETRY_DELAY_MS = Number(process.env.OCSYNC_RETRY_DELAY_MS ?? 2000);
const STDERR_CAP = 64 * 1024;
/** The most a bundle's answer may hold (prefetch). */
const BUNDLE_CAP = 64 * 1024 * 1024;
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
  abstract readonly kind: TransportKind;
  /** Told before each automatic retry (a line for the user: the connect phase can take 20 s of retries). */
  onRetry?: (message: string) => void;
  /** "fly app my-bot, machine 148e…" — for messages and the summary. */
  abstract describe(): string;
  /** The local command that runs `remoteArgv` on the bot's machine. */
  protected abstract command(remoteArgv: string[]): { file: string; args: string[]; env?: NodeJS.ProcessEnv };
  /** Turns a failed call into a sentence; undefined leaves it to the generic message. */
  protected abstract diagnose(outcome: ProcessOutcome, label: string): Diagnosis | undefined;

  /** Answers that a bundle (prefetch) brought, by callKey, each used once. */
  private answers = new Map<string, Buffer>();

  /** Runs a remote program (its source travels on stdin) and hands its stdout to `options.consume`. */
  async call<T>(options: CallOptions<T>): Promise<T> {
    const key = callKey(options);
    const answer = this.answers.get(key);
    if (answer) {
      this.answers.delete(key);
      try {
        return await options.consume(Readable.from([answer]), 1);
      } catch {
        // The bundle's answer did not hold up (a file changed while it was listed): asked again on its own.
      }
    }
    const source = plainOrCompressed(options.program);
    for (;;) {
      const { argv, stdin } = await this.sent(programArgv(options.program, options.args), source);
      try {
        return await this.run(argv, () => stdin, options);
      } catch (error) {
        if (!(error instanceof NoGzip)) throw error;
        this.plainSources = true;
      }
    }
  }

  /** Whether the bot lacks gzip (learnt from a call): then sources travel plain. */
  private plainSources = false;

  /**
   * The command line and stdin for `remoteArgv`, which reads a program's source on stdin: compressed (a third of
   * the bytes, and they travel on every call) through the bot's gzip, or plain once the bot said it has no gzip
   * (the call that learnt it is made again; the rest of the run sends plain).
   */
  private async sent(
    remoteArgv: string[],
    source: (compressed: boolean) => Promise<Buffer>,
  ): Promise<{ argv: string[]; stdin: Buffer }> {
    return { argv: this.wrapped(remoteArgv), stdin: await source(!this.plainSources) };
  }

  /** The command line for `remoteArgv`: through the bot's gzip, unless the bot has none (see sent). */
  private wrapped(remoteArgv: string[]): string[] {
    return this.plainSources ? remoteArgv : ["sh", "-c", GUNZIP_SCRIPT, "sh", ...remoteArgv];
  }

  /**
   * Asks the bot several read-only questions in one connection (remote/bundle.mts); the later call() of each
   * gets its answer from here. Returns how many were answered. Best effort, one attempt: a bundle that stalls,
   * fails or comes back incomplete answers nothing, and each call then runs on its own (with its retries, and
   * explains its failure as always).
   */
  async prefetch(calls: RemoteCall[], options: BundleOptions): Promise<number> {
    // The connection preconnect() opened, if any (cancelEarly() closes it if this returns before using it).
    const early = this.early;
    if (stopping || calls.length === 0) {
      this.cancelEarly();
      return 0;
    }
    const sources = new Map<RemoteProgram, Buffer>();
    for (const call of calls) sources.set(call.program, await programSource(call.program));
    const { script, nonce } = bundleScript(calls, sources, programArgv);
    const source = compressible(async () => script);
    const ask = async () => {
      const { argv, stdin } = await this.sent(BUNDLE_ARGV, source);
      if (early && !early.used && !this.plainSources) {
        early.used = true;
        early.feed(stdin);
        return early.answer;
      }
      return this.once(argv, stdin, bundleConsumer(options), 1);
    };
    let attempt = await ask();
    if (NO_GZIP.test(attempt.outcome.stderr)) {
      this.plainSources = true;
      attempt = await ask();
    }
    const { value, outcome } = attempt;
    if (stopping) throw new Failure(`the ${options.label} was interrupted`);
    // Anything else (a stall, a failure, an answer cut short): each call on its own, with its retries.
    if (outcome.timedOut || outcome.code !== 0 || !value) return 0;
    const answers = parseBundle(value, nonce, calls);
    for (const [key, answer] of answers ?? []) this.answers.set(key, answer);
    return answers?.size ?? 0;
  }

  /** The bundle's connection, opened ahead by preconnect() and waiting for its script. */
  private early?: EarlyBundle;

  /**
   * Opens the connection the bundle (prefetch) will use before the bundle is known: its set-up (an ssh handshake,
   * a third of an idle day) then overlaps this side's start-up and planning. The script follows on stdin; a run
   * that makes no bundle stops it (cancelEarly). A process that dies meanwhile closes the pipe: the remote shell
   * reads an empty script and exits.
   */
  preconnect(options: BundleOptions): void {
    if (this.early || stopping || this.plainSources) return;
    let feed: (script: Buffer | undefined) => void = () => {};
    const script = new Promise<Buffer | undefined>((resolve) => (feed = resolve));
    const answer = this.once(this.wrapped(BUNDLE_ARGV), script, bundleConsumer(options), 1);
    const early: EarlyBundle = {
      used: false,
      feed,
      answer,
      cancel: () => {
        if (early.used) return;
        early.used = true;
        feed(undefined); // stops it (an unreachable host would otherwise hold this run until ssh gives up)
        void answer.catch(() => {});
      },
    };
    this.early = early;
  }

  /** Whether a connection preconnect() opened waits for its bundle. */
  get preconnected(): boolean {
    return Boolean(this.early && !this.early.used);
  }

  /** Closes a connection preconnect() opened that no bundle used. */
  cancelEarly(): void {
    this.early?.cancel();
    this.early = undefined;
  }

  /** Stores `options.data` in the file `options.path` on the bot's machine (private, complete or absent). */
  async receive(options: ReceiveOptions): Promise<void> {
    checkRemoteArg(options.path, "the remote file");
    if (!options.path.startsWith("/"))
      throw new Failure(`the remote file ${JSON.stringify(options.path)} is not an absolute path`, 2);
    await this.run(["sh", "-c", RECEIVE_SCRIPT, "sh", options.path], options.data, {
      idleTimeoutMs: options.idleTimeoutMs,
      label: options.label,
      consume: async (stdout) => {
        for await (const chunk of stdout) void chunk; // a receiving program says nothing on success
      },
    });
  }

  private async run<T>(
    remoteArgv: string[],
    stdin: () => Readable | Buffer,
    options: Omit<CallOptions<T>, "program" | "args">,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (stopping) throw new Failure("interrupted before the remote call could start");
      const { value, outcome, consumeError } = await this.once(remoteArgv, stdin(), options, attempt);
      if (stopping) throw new Failure(`the ${options.label} was interrupted`);
      // Only the unpacking wrapper says this (GUNZIP_SCRIPT): the same call goes again, plain.
      if (NO_GZIP.test(outcome.stderr)) throw new NoGzip();
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

  private explain(
    outcome: ProcessOutcome,
    options: Pick<CallOptions<unknown>, "label" | "idleTimeoutMs">,
    consumeError: unknown,
  ): Diagnosis {
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
    input: Readable | Buffer | Promise<Buffer | undefined>,
    options: Omit<CallOptions<T>, "program" | "args">,
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
      // A promised input (preconnect): the idle clock starts when it is sent; until then this side is the slow one.
      if (!(input instanceof Promise)) arm();
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
      if (Buffer.isBuffer(input)) child.stdin.end(input);
      else if (input instanceof Promise) {
        // A promised input (preconnect): undefined when the call is not wanted after all.
        void input.then((bytes) => {
          if (bytes === undefined) {
            child.stdin.end();
            kill();
            return;
          }
          if (!outcome.timedOut && !killed && child.exitCode === null) arm();
          child.stdin.end(bytes);
        });
      } else {
        // Data going out counts as life on the link, like data coming in.
        input.on("data", () => {
          if (!outcome.timedOut) arm();
        });
        input.on("error", (error) => {
          outcome.stderr += `could not read the data to send: ${error.message}\n`;
          kill();
        });
        input.pipe(child.stdin);
      }

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

/** How a program runs on the bot, reading its source on stdin: `sh -s`, or Node for a module (the exporter). */
export function programArgv(program: RemoteProgram, args: string[]): string[] {
  return program.endsWith(".mjs")
    ? ["node", ...REMOTE_NODE_FLAGS, "--input-type=module", "-", ...args]
    : ["sh", "-s", "--", ...args];
}

/**
 * Runs "$@" (a program that reads its source on stdin) with that source gzip-decompressed on the way. A bot
 * without gzip, or whose gzip cannot decompress, says `ocsync-no-gzip` (then the call is made again, plain).
 */
const GUNZIP_SCRIPT =
  'command -v gzip >/dev/null 2>&1 || { echo ocsync-no-gzip >&2; exit 97; }; { gzip -dc || echo ocsync-no-gzip >&2; } | "$@"';
const NO_GZIP = /^ocsync-no-gzip$/m;
class NoGzip extends Error {}

/** How the bundle runs on the bot: a script on stdin. */
const BUNDLE_ARGV = ["sh", "-s", "--"];

export interface BundleOptions {
  label: string;
  idleTimeoutMs: number;
}

interface EarlyBundle {
  used: boolean;
  feed: (script: Buffer | undefined) => void;
  answer: Promise<{ value?: Buffer; outcome: ProcessOutcome; consumeError?: unknown }>;
  cancel: () => void;
}

/** The bundle's answer, whole (listings are small; an answer this large is left to the calls of their own). */
function bundleConsumer(options: BundleOptions): Omit<CallOptions<Buffer>, "program" | "args"> {
  return {
    ...options,
    consume: async (stdout) => {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of stdout) {
        size += (chunk as Buffer).length;
        if (size > BUNDLE_CAP) throw new Error("the bundle's answer is too large");
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks);
    },
  };
}

/** A source, plain or gzip-compressed, each computed once. */
function compressible(plain: () => Promise<Buffer>): (compressed: boolean) => Promise<Buffer> {
  let gz: Promise<Buffer> | undefined;
  return (compressed) =>
    compressed ? (gz ??= plain().then((bytes) => gzipSync(bytes, { level: 9 }))) : plain();
}
const compressedSources = new Map<RemoteProgram, (compressed: boolean) => Promise<Buffer>>();
function plainOrCompressed(program: RemoteProgram): (compressed: boolean) => Promise<Buffer> {
  let source = compressedSources.get(program);
  if (!source) compressedSources.set(program, (source = compressible(() => programSource(program))));
  return source;
}

/** A remote program's source as it travels (without comment lines), read once per run. */
const sources = new Map<RemoteProgram, Promise<Buffer>>();
function programSource(program: RemoteProgram): Promise<Buffer> {
  let source = sources.get(program);
  if (!source) {
    source = readFile(new URL(`./${program}`, import.meta.url)).then((bytes) =>
      withoutComments(program, bytes),
    );
    sources.set(program, source);
  }
  return source;
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

/**
 * A remote program's source without its whole-line comments (they are a third of its bytes, and the source
 * travels on every call): `#` lines of a shell script (not `#!`), `//` lines of a module. The lines stay (empty),
 * so line numbers in an error still point at the file. The programs keep no `#` or `//` line inside a string.
 */
export function withoutComments(program: string, source: Buffer): Buffer {
  const comment = program.endsWith(".mjs") ? /^[ \t]*\/\/.*$/gm : /^[ \t]*#(?!!).*$/gm;
  return Buffer.from(source.toString("utf8").replace(comment, ""));
}
