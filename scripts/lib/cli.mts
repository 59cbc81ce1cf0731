// The command-line conventions every script shares: flag parsing with node:util parseArgs, --help, --json,
// exit codes (0 ok, 1 failed, 2 usage), one plain sentence on stderr per failure, colour only on a TTY
// without NO_COLOR, progress only on a TTY.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { basename, isAbsolute, relative } from "node:path";

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** A failure the user can act on: its message is the one sentence printed on stderr. */
export class Failure extends Error {
  constructor(
    message: string,
    readonly code: number = EXIT_FAILED,
    readonly detail?: string,
  ) {
    super(message);
    this.name = "Failure";
  }
}

/** Bad flags or arguments: exit code 2. */
export class UsageError extends Failure {
  constructor(message: string) {
    super(message, EXIT_USAGE);
    this.name = "UsageError";
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

export interface Parsed<T> {
  values: T;
  positionals: string[];
}

/** parseArgs with strict checking; unknown or malformed flags become a UsageError with a plain sentence. */
export function parseFlags<T = Record<string, string | boolean | string[] | undefined>>(
  options: Options,
  argv: string[] = process.argv.slice(2),
  allowPositionals = false,
): Parsed<T> {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals, strict: true });
    return { values: values as T, positionals };
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    throw new UsageError(text.replace(/\s*To specify a positional argument.*$/s, "").replace(/\.$/, ""));
  }
}

/** Whether to colour stderr: a TTY, no NO_COLOR (any value, per no-color.org), not a dumb terminal. */
export function useColor(stream: NodeJS.WriteStream = process.stderr): boolean {
  return Boolean(stream.isTTY) && !("NO_COLOR" in process.env) && process.env.TERM !== "dumb";
}

const paint = (code: string) => (text: string) => (useColor() ? `\x1b[${code}m${text}\x1b[0m` : text);
export const red = paint("31");
export const yellow = paint("33");
export const dim = paint("2");

/**
 * Text from the bot (file names, agent ids, versions, remote error text) may hold control characters: an ESC
 * sequence would retitle the terminal or clear the screen. Every human-facing line goes through this: C0 and C1
 * controls and DEL become visible escapes (`\x1b`, `\r`, `\u009b`); newlines are kept only where `keepNewlines`.
 */
export function escapeControls(text: string, keepNewlines = false): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (keepNewlines && c === "\n") return c;
    const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
    if (named[c]) return named[c];
    const code = c.charCodeAt(0);
    return code < 0x80
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** A file name as shown in a message: control characters escaped, quoted when it holds spaces or escapes. */
export function quoteName(name: string): string {
  const escaped = escapeControls(name);
  return escaped !== name || /[\s"']/.test(name)
    ? JSON.stringify(name).replace(/[\u007f-\u009f]/g, (c) => escapeControls(c))
    : name;
}

/**
 * What every line a command prints passes through last: secrets.mts installs a filter that masks any secret
 * (a token used as a session id becomes a file name) to a short prefix, so no command prints one in full.
 */
let outputFilter: (text: string) => string = (text) => text;
export function setOutputFilter(filter: (text: string) => string): void {
  outputFilter = filter;
}
function shown(text: string): string {
  return outputFilter(text);
}

/**
 * Writes a command's result text on stdout (through the output filter), control characters escaped: the text
 * names files, keys and ids that come from the bot.
 */
export function output(text: string): void {
  process.stdout.write(shown(escapeControls(text, true)));
}

/** Writes human text to stderr with bot-controlled control characters escaped (ours are added after). */
function say(text: string): void {
  process.stderr.write(`${shown(escapeControls(text, true))}\n`);
}

/** Human-facing messages go to stderr so that stdout carries only results (the summary or --json). */
export class Reporter {
  private progressShown = false;
  constructor(
    readonly program: string,
    readonly quiet = false,
  ) {}

  info(message: string): void {
    if (this.quiet) return;
    this.clearProgress();
    say(message);
  }

  warn(message: string): void {
    this.clearProgress();
    process.stderr.write(`${yellow("warning:")} ${shown(escapeControls(message, true))}\n`);
  }

  /** A one-line progress indicator, only on a TTY; piped output stays quiet. */
  progress(message: string): void {
    if (this.quiet || !process.stderr.isTTY) return;
    const width = process.stderr.columns || 80;
    process.stderr.write(`\r\x1b[2K${dim(shown(escapeControls(message)).slice(0, width - 1))}`);
    this.progressShown = true;
  }

  clearProgress(): void {
    if (!this.progressShown) return;
    process.stderr.write("\r\x1b[2K");
    this.progressShown = false;
  }
}

/**
 * Runs a script's main function: maps a Failure to its sentence and exit code, anything unexpected to exit 1.
 * Sets process.exitCode rather than calling process.exit, so pending output is flushed.
 */
export async function runMain(main: () => Promise<number | void>, program = scriptName()): Promise<void> {
  try {
    const code = await main();
    process.exitCode = code ?? EXIT_OK;
  } catch (error) {
    process.exitCode = reportError(program, error);
  }
}

export function reportError(program: string, error: unknown): number {
  if (error instanceof Failure) {
    process.stderr.write(`${program}: ${red("error:")} ${shown(escapeControls(error.message, true))}\n`);
    if (error.code === EXIT_USAGE) process.stderr.write(`Run '${helpCommand(program)}' for the options.\n`);
    if (error.detail) process.stderr.write(`${dim(shown(escapeControls(error.detail, true)))}\n`);
    return error.code;
  }
  const text = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `${program}: ${red("error:")} unexpected failure: ${shown(escapeControls(text, true))}\n`,
  );
  if (process.env.OCSYNC_DEBUG && error instanceof Error && error.stack)
    process.stderr.write(`${error.stack}\n`);
  return EXIT_FAILED;
}

/** The command that shows a script's help, as the user can type it: `npx tsx scripts/prune.mts --help`. */
export function helpCommand(program: string): string {
  const script = process.argv[1];
  if (!script || !/\.m?[jt]s$/.test(script)) return `npx tsx scripts/${program}.mts --help`;
  const shown = relative(process.cwd(), script);
  return `npx tsx ${shown.startsWith("..") || isAbsolute(shown) ? script : shown} --help`;
}

export function scriptName(): string {
  return basename(process.argv[1] ?? "script").replace(/\.m?[jt]s$/, "");
}

/** Why a file operation failed, in words (`ENOSPC` → "the disk is full"). */
export function errnoReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  switch (code) {
    case "ENOSPC":
    case "EDQUOT":
      return "the disk is full";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EROFS":
      return "the filesystem is read-only";
    case "EIO":
      return "an I/O error";
    case "ENAMETOOLONG":
      return "a file name too long for this filesystem";
    case "EMFILE":
    case "ENFILE":
      return "too many open files";
    default:
      return code ?? (error instanceof Error ? error.message : String(error));
  }
}

/** The one sentence for a write that failed: `cannot write <where>: <reason>`. */
export function writeFailure(error: unknown, where: string): string {
  return `cannot write ${where}: ${errnoReason(error)}`;
}

/** Writes one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${shown(JSON.stringify(value, null, 2))}\n`);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function plural(count: number, word: string, many = `${word}s`): string {
  return `${count} ${count === 1 ? word : many}`;
}
