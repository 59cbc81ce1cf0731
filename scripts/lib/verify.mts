// What verify checks, independent of the command line. Files come from a Source: the work tree, or git's index
// (`--staged`, what the next commit will hold). Every file is read once, as a stream; every problem is collected
// with its place; nothing is printed here.
//
//   transcripts and archives   JSONL rules (jsonl.mts) + transcript header, secrets (secrets.mts)
//   other *.jsonl              JSONL rules + secrets (e.g. <memory>/pruned.jsonl)
//   sessions.json              an object of entries with string sessionId and numeric updatedAt; entries naming
//                              missing transcripts and transcripts no entry names are warnings; secrets
//   sessions.json.bak.*,       must parse as JSON
//   sync-provenance.json
//   with sync-provenance.json  a file whose bytes differ from what sync recorded: warning (error with strict)
//   with .syncignore           a file or index key it excludes: error
//   in sessions/: locks, temporaries, sidecars, unknown names: warning
import { createHash } from "node:crypto";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { open, readFile, readdir, stat } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { UsageError } from "./cli.mts";
import { runProcess } from "./proc.mts";
import { JsonlValidator, type Severity } from "./jsonl.mts";
import { classify } from "./openclaw/files.mts";
import {
  ALLOW_FILE,
  SECRET_RULES,
  SecretChunkScanner,
  SecretScanner,
  parseAllowList,
  type SecretHit,
} from "./secrets.mts";
import { PROVENANCE_FILE, SESSIONS_DIR, type Provenance } from "./store/provenance.mts";
import { SYNCIGNORE_FILE, applySyncIgnore, parseSyncIgnore, type Exclusion } from "./store/syncignore.mts";
import {
  IndexParseError,
  parseIndex,
  transcriptOf,
  type IndexEntry,
  type SessionIndex,
} from "./openclaw/sessions-index.mts";

export interface Problem {
  path: string;
  line?: number;
  byte?: number;
  severity: Severity;
  code: string;
  message: string;
  /** For secrets: the kind (secretlint message id). */
  kind?: string;
}

export interface VerifyOptions {
  /** Read git's index instead of the work tree. */
  staged?: boolean;
  /**
   * With `staged`: read only the files whose staged blob differs from HEAD's (what the commit changes); every
   * staged file's name still meets the name checks (.syncignore, stray files). The pre-commit hook's mode.
   */
  changed?: boolean;
  /** Changed-since-sync becomes an error. */
  strict?: boolean;
  /** Problems kept per file (the rest are counted). */
  maxPerFile?: number;
  cwd?: string;
  onFile?: (path: string, index: number, total: number) => void;
}

export interface VerifyReport {
  ok: boolean;
  staged: boolean;
  /** Files read (with `changed`: only those the commit changes). */
  files: number;
  /** With `changed`: staged files identical to HEAD's, whose names alone were checked. */
  unchanged: number;
  bytes: number;
  errors: number;
  warnings: number;
  problems: Problem[];
  /** Problems not listed because of the per-file cap, by path. */
  omitted: Record<string, number>;
}

// ---------------------------------------------------------------------------------------------------------------
// Sources

interface FileRef {
  /** Path as shown to the user (relative to cwd, '/' separators). */
  path: string;
  size?: number;
  /** Git blob id, for staged files. */
  blob?: string;
}

interface Source {
  /** All files under the given paths. */
  list(paths: string[]): Promise<FileRef[]>;
  /** The file's bytes as a stream (reads only once). */
  open(file: FileRef): AsyncIterable<Buffer>;
  /** A small file's bytes, or undefined when it does not exist. */
  read(path: string): Promise<Buffer | undefined>;
  /** File names directly inside a folder. */
  names(dir: string): Promise<string[]>;
  close(): Promise<void>;
}

const SKIP_DIRS = new Set([".git", "node_modules"]);
const CHUNK_BYTES = 512 * 1024;

function toDisplay(path: string): string {
  return path.split(sep).join("/").replace(/^\.\//, "");
}

class WorkTree implements Source {
  constructor(private readonly cwd: string) {}

  async list(paths: string[]): Promise<FileRef[]> {
    const out: FileRef[] = [];
    for (const path of paths) {
      let info;
      try {
        info = await stat(resolve(this.cwd, path));
      } catch {
        throw new UsageError(`${path} does not exist`);
      }
      if (info.isDirectory()) await this.walk(path, out);
      else out.push({ path: toDisplay(path), size: info.size });
    }
    return out;
  }

  private async walk(dir: string, out: FileRef[]): Promise<void> {
    const entries = await readdir(resolve(this.cwd, dir), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) await this.walk(path, out);
      } else if (entry.isFile()) {
        out.push({ path: toDisplay(path), size: (await stat(resolve(this.cwd, path))).size });
      }
    }
  }

  /**
   * Reads into two reused buffers, one chunk ahead: the next read (on libuv's thread pool) runs while the caller
   * checks the current chunk. A chunk is valid until the next one is requested (consumers copy what they keep):
   * the read ahead goes into the buffer of the chunk before, which the caller has finished with.
   */
  async *open(file: FileRef): AsyncIterable<Buffer> {
    const handle = await open(resolve(this.cwd, file.path), "r");
    const buffers = (this.buffers ??= [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)]);
    let pending: Promise<{ bytesRead: number }> | undefined;
    try {
      let which = 0;
      pending = handle.read(buffers[which], 0, CHUNK_BYTES, null);
      for (;;) {
        const { bytesRead } = await pending;
        pending = undefined;
        if (bytesRead === 0) break;
        const current = buffers[which];
        which ^= 1;
        // A short read is not the end of the file (a pipe or a growing file); the next read tells.
        pending = handle.read(buffers[which], 0, CHUNK_BYTES, null);
        yield current.subarray(0, bytesRead);
      }
    } finally {
      // A read still in flight must finish before the handle closes (and before its buffer is reused).
      if (pending) await pending.catch(() => {});
      await handle.close();
    }
  }

  private buffers?: Buffer[];

  async read(path: string): Promise<Buffer | undefined> {
    try {
      return await readFile(resolve(this.cwd, path));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return undefined;
      throw error;
    }
  }

  async names(dir: string): Promise<string[]> {
    try {
      const entries = await readdir(resolve(this.cwd, dir), { withFileTypes: true });
      return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
    } catch {
      return [];
    }
  }

  async close(): Promise<void> {}
}

/** Git's index: `git ls-files -s` lists the staged blobs, one `git cat-file --batch` streams them. */
class StagedIndex implements Source {
  private catFile?: ChildProcessWithoutNullStreams;
  private reader?: StreamReader;
  private staged = new Map<string, FileRef>();

  constructor(private readonly cwd: string) {}

  async list(paths: string[]): Promise<FileRef[]> {
    const output = await gitOutput(this.cwd, ["ls-files", "-s", "-z", "--", ...paths]);
    const out: FileRef[] = [];
    for (const record of output.toString("utf8").split("\0")) {
      if (!record) continue;
      const tab = record.indexOf("\t");
      const [mode, blob, stage] = record.slice(0, tab).split(" ");
      const path = record.slice(tab + 1);
      if (mode === "160000" || mode === "120000") continue; // submodules, symlinks
      if (stage !== "0" && this.staged.has(path)) continue;
      const ref: FileRef = { path, blob };
      this.staged.set(path, ref);
      out.push(ref);
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  private start(): StreamReader {
    if (!this.reader) {
      this.catFile = spawn("git", ["cat-file", "--batch"], {
        cwd: this.cwd,
        stdio: ["pipe", "pipe", "pipe"],
      });
      this.catFile.stderr.resume();
      this.catFile.stdin.on("error", () => {});
      this.reader = new StreamReader(this.catFile.stdout);
    }
    return this.reader;
  }

  async *open(file: FileRef): AsyncIterable<Buffer> {
    const reader = this.start();
    this.catFile!.stdin.write(`${file.blob}\n`);
    const header = await reader.line();
    const [, type, size] = header.split(" ");
    if (type !== "blob") throw new Error(`git cat-file could not read ${file.path}: ${header}`);
    file.size = Number(size);
    yield* reader.exactly(file.size);
    await reader.line(); // the "\n" after the content
  }

  async read(path: string): Promise<Buffer | undefined> {
    let ref = this.staged.get(path);
    if (!ref) {
      const output = (await gitOutput(this.cwd, ["ls-files", "-s", "-z", "--", path])).toString("utf8");
      const record = output.split("\0")[0];
      if (!record) return undefined;
      ref = { path, blob: record.slice(0, record.indexOf("\t")).split(" ")[1] };
    }
    const chunks: Buffer[] = [];
    for await (const chunk of this.open(ref)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async names(dir: string): Promise<string[]> {
    const output = (await gitOutput(this.cwd, ["ls-files", "-z", "--", dir])).toString("utf8");
    const prefix = dir.endsWith("/") ? dir : `${dir}/`;
    return output
      .split("\0")
      .filter((path) => path.startsWith(prefix) && !path.slice(prefix.length).includes("/"))
      .map((path) => path.slice(prefix.length));
  }

  async close(): Promise<void> {
    if (!this.catFile) return;
    this.catFile.stdin.end();
    await new Promise((resolve) => this.catFile!.once("close", resolve));
  }
}

/**
 * HEAD's blob id of every file under `paths` (`git ls-tree -r`: one command, no file contents read; paths relative
 * to cwd like `git ls-files`), or undefined before the first commit (everything staged is new).
 */
async function headBlobs(cwd: string, paths: string[]): Promise<Map<string, string> | undefined> {
  const head = await runProcess(["git", "rev-parse", "--verify", "--quiet", "HEAD^{tree}"], { cwd });
  if (head.code !== 0) return undefined;
  const output = await gitOutput(cwd, ["ls-tree", "-r", "-z", "HEAD", "--", ...paths]);
  const blobs = new Map<string, string>();
  for (const record of output.toString("utf8").split("\0")) {
    if (!record) continue;
    const tab = record.indexOf("\t");
    const [, type, blob] = record.slice(0, tab).split(" ");
    if (type === "blob") blobs.set(record.slice(tab + 1), blob);
  }
  return blobs;
}

function gitOutput(cwd: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", (error) => reject(new UsageError(`--staged needs git: ${error.message}`)));
    child.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else
        reject(
          new UsageError(
            `git ${args[0]} failed: ${Buffer.concat(err).toString("utf8").trim() || `exit ${code}`}`,
          ),
        );
    });
  });
}

/** Pull-style reads over a readable stream: a line, or exactly n bytes as chunks. */
class StreamReader {
  private buffered: Buffer[] = [];
  private size = 0;
  private ended = false;
  private waiting?: () => void;

  constructor(stream: NodeJS.ReadableStream) {
    stream.on("data", (chunk: Buffer) => {
      this.buffered.push(chunk);
      this.size += chunk.length;
      if (this.size > 4 * 1024 * 1024) stream.pause();
      this.wake();
    });
    stream.on("end", () => {
      this.ended = true;
      this.wake();
    });
    this.resume = () => stream.resume();
  }

  private resume: () => void;

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }

  private async more(): Promise<void> {
    if (this.ended) throw new Error("git cat-file ended early");
    this.resume();
    await new Promise<void>((resolve) => (this.waiting = resolve));
  }

  private take(n: number): Buffer {
    const all = this.buffered.length === 1 ? this.buffered[0] : Buffer.concat(this.buffered);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffered = rest.length ? [rest] : [];
    this.size = rest.length;
    return head;
  }

  async line(): Promise<string> {
    for (;;) {
      let seen = 0;
      for (const chunk of this.buffered) {
        const at = chunk.indexOf(0x0a);
        if (at >= 0) {
          const line = this.take(seen + at + 1);
          return line.toString("utf8", 0, line.length - 1);
        }
        seen += chunk.length;
      }
      await this.more();
    }
  }

  async *exactly(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.size === 0) await this.more();
      const chunk = this.buffered.shift()!;
      this.size -= chunk.length;
      if (chunk.length > left) {
        this.buffered.unshift(chunk.subarray(left));
        this.size += chunk.length - left;
        yield chunk.subarray(0, left);
        left = 0;
      } else {
        left -= chunk.length;
        yield chunk;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Secret scan and provenance hash over the same chunks the validator reads.

interface ScanResult {
  hits: SecretHit[];
  extra: number;
  sha256?: string;
}

interface ScanJob {
  /** Called before the validator sees the chunk. */
  push(chunk: Buffer): void | Promise<void>;
  /** The validator's decoded windows of the chunk's complete lines (JsonlOptions.onWindow). */
  window(buffer: Buffer, from: number, to: number, text: string): void;
  /** Called after the validator has seen the chunk. */
  settle(): void;
  end(): Promise<ScanResult>;
}

interface Scanning {
  begin(scanner: SecretScanner, hash: boolean, maxHits: number): ScanJob;
  close(): Promise<void>;
}

const inlineScanning: Scanning = {
  begin(scanner, hash, maxHits) {
    const secrets = new SecretChunkScanner(scanner, maxHits, true);
    const digest = hash ? createHash("sha256") : undefined;
    return {
      push(chunk) {
        secrets.push(chunk);
        digest?.update(chunk);
      },
      window: (buffer, from, to, text) => secrets.window(buffer, from, to, text),
      settle: () => secrets.settle(),
      async end() {
        return { hits: secrets.end(), extra: secrets.extra, sha256: digest?.digest("hex") };
      },
    };
  },
  async close() {},
};

// ---------------------------------------------------------------------------------------------------------------
// The memory folder's context: provenance, .syncignore, the secrets allow list, the index.

interface MemoryContext {
  /** The memory folder's display path ("" for the cwd). */
  dir: string;
  provenance?: Provenance;
  exclusion?: Exclusion;
  scanner: SecretScanner;
  problems: Problem[];
}

/** The memory folder a file belongs to: `<memory>/sessions/<file>` or `<memory>/<file>`. */
function memoryDirOf(path: string): string {
  const dir = dirname(path);
  if (basename(dir) === SESSIONS_DIR) return dirname(dir);
  return dir;
}

const DEFAULT_SCANNER = new SecretScanner();

async function loadContext(source: Source, dir: string): Promise<MemoryContext> {
  const at = (name: string) => (dir === "." || dir === "" ? name : `${dir}/${name}`);
  const context: MemoryContext = { dir, scanner: DEFAULT_SCANNER, problems: [] };
  const allow = await source.read(at(ALLOW_FILE));
  if (allow) context.scanner = new SecretScanner({ allows: parseAllowList(allow.toString("utf8")) });
  const provenance = await source.read(at(PROVENANCE_FILE));
  if (provenance) {
    try {
      const value = JSON.parse(provenance.toString("utf8")) as Provenance;
      if (value?.format === 1 && value.files && typeof value.files === "object") context.provenance = value;
      else
        context.problems.push(
          fileProblem(at(PROVENANCE_FILE), "error", "bad-provenance", "not a provenance file of format 1"),
        );
    } catch (error) {
      context.problems.push(
        fileProblem(
          at(PROVENANCE_FILE),
          "error",
          "invalid-json",
          `invalid JSON: ${(error as Error).message}`,
        ),
      );
    }
  }
  const ignoreText = await source.read(at(SYNCIGNORE_FILE));
  if (ignoreText) {
    const rules = parseSyncIgnore(ignoreText.toString("utf8"));
    const index = await source.read(at(`${SESSIONS_DIR}/sessions.json`));
    let entries: SessionIndex = {};
    try {
      if (index) entries = parseIndex(index.toString("utf8"));
    } catch {
      // reported when sessions.json itself is checked
    }
    context.exclusion = applySyncIgnore(rules, entries);
  }
  return context;
}

function fileProblem(path: string, severity: Severity, code: string, message: string): Problem {
  return { path, severity, code, message };
}

// ---------------------------------------------------------------------------------------------------------------
// The run

export async function verify(paths: string[], options: VerifyOptions = {}): Promise<VerifyReport> {
  const cwd = options.cwd ?? process.cwd();
  const source: Source = options.staged ? new StagedIndex(cwd) : new WorkTree(cwd);
  const maxPerFile = options.maxPerFile ?? 20;
  const report: VerifyReport = {
    ok: true,
    staged: Boolean(options.staged),
    files: 0,
    unchanged: 0,
    bytes: 0,
    errors: 0,
    warnings: 0,
    problems: [],
    omitted: {},
  };
  const add = (problem: Problem, perFile: Map<string, number>) => {
    if (problem.severity === "error") report.errors++;
    else report.warnings++;
    const count = (perFile.get(problem.path) ?? 0) + 1;
    perFile.set(problem.path, count);
    if (count <= maxPerFile) report.problems.push(problem);
    else report.omitted[problem.path] = (report.omitted[problem.path] ?? 0) + 1;
  };
  const perFile = new Map<string, number>();
  const scanning: Scanning = inlineScanning;
  try {
    const roots = paths.length ? paths : ["memory"];
    const files = await source.list(roots);
    const head = options.staged && options.changed ? await headBlobs(cwd, roots) : undefined;
    const contexts = new Map<string, MemoryContext>();
    let index = 0;
    for (const file of files) {
      const unchanged = head !== undefined && file.blob !== undefined && head.get(file.path) === file.blob;
      if (!unchanged) options.onFile?.(file.path, index, files.length);
      index++;
      const memoryDir = memoryDirOf(file.path);
      let context = contexts.get(memoryDir);
      if (!context) {
        context = await loadContext(source, memoryDir);
        contexts.set(memoryDir, context);
        for (const problem of context.problems) add(problem, perFile);
      }
      if (unchanged) report.unchanged++;
      else report.files++;
      const result = await checkFile(source, file, context, options, maxPerFile, scanning, unchanged);
      report.bytes += file.size ?? 0;
      for (const problem of result.problems) add(problem, perFile);
      const hiddenCount = result.hidden.errors + result.hidden.warnings;
      if (hiddenCount > 0) {
        report.errors += result.hidden.errors;
        report.warnings += result.hidden.warnings;
        report.omitted[file.path] = (report.omitted[file.path] ?? 0) + hiddenCount;
      }
    }
  } finally {
    await source.close();
    await scanning.close();
  }
  report.ok = report.errors === 0;
  return report;
}

interface FileResult {
  problems: Problem[];
  /** Problems beyond the per-file cap: counted, not listed. */
  hidden: { errors: number; warnings: number };
}

async function checkFile(
  source: Source,
  file: FileRef,
  context: MemoryContext,
  options: VerifyOptions,
  maxPerFile: number,
  scanning: Scanning,
  namesOnly = false,
): Promise<FileResult> {
  const name = basename(file.path);
  const inSessions = basename(dirname(file.path)) === SESSIONS_DIR;
  const kind = classify(name).kind;
  const problems: Problem[] = [];
  const hidden = { errors: 0, warnings: 0 };
  const result: FileResult = { problems, hidden };
  const problem = (severity: Severity, code: string, message: string) =>
    problems.push(fileProblem(file.path, severity, code, message));

  if (inSessions && context.exclusion?.excludesFile(name)) {
    problem(
      "error",
      "syncignored",
      `excluded by ${context.dir ? `${context.dir}/` : ""}${SYNCIGNORE_FILE} but present: remove it (git rm --cached) or change the ignore file`,
    );
  }
  if (inSessions && (kind === "lock" || kind === "temp" || kind === "sidecar" || kind === "repair-backup")) {
    problem(
      "warning",
      "transient",
      `a ${kind} file, not part of the history: sync never copies it; remove it`,
    );
  } else if (inSessions && kind === "unknown" && name !== SYNCIGNORE_FILE) {
    problem("warning", "unknown-file", "not an OpenClaw session file name");
  }

  if (namesOnly) return result;

  const isJsonl = kind === "transcript" || kind === "archive" || name.endsWith(".jsonl");
  const isJson = kind === "index" || kind === "index-backup" || name === PROVENANCE_FILE;
  const record = inSessions ? context.provenance?.files[name] : undefined;
  const checkProvenance = record !== undefined && !record.prunedAt;

  if (!isJsonl && !isJson && !checkProvenance) return result;

  let digest: string | undefined;
  if (isJsonl) {
    // The validator decodes each chunk's complete lines once (in windows); the secret scan reuses that text.
    const scan = scanning.begin(context.scanner, checkProvenance, maxPerFile);
    const validator = new JsonlValidator({
      transcript: kind === "transcript" || kind === "archive",
      maxProblems: maxPerFile,
      onWindow: scan.window,
    });
    for await (const chunk of source.open(file)) {
      await scan.push(chunk);
      validator.push(chunk);
      scan.settle();
    }
    const summary = validator.end();
    const scanned = await scan.end();
    digest = scanned.sha256;
    for (const p of summary.problems)
      problems.push({
        path: file.path,
        line: p.line,
        byte: p.byte,
        severity: p.severity,
        code: p.code,
        message: p.message,
      });
    const shown = summary.problems.filter((p) => p.severity === "error").length;
    hidden.errors += summary.errors - shown + scanned.extra;
    hidden.warnings += summary.warnings - (summary.problems.length - shown);
    for (const hit of scanned.hits) problems.push(secretProblem(file.path, hit.kind, hit.line));
  } else {
    const hash = checkProvenance ? createHash("sha256") : undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of source.open(file)) {
      if (isJson) chunks.push(Buffer.from(chunk));
      hash?.update(chunk);
    }
    digest = hash?.digest("hex");
    if (isJson) {
      const text = Buffer.concat(chunks);
      if (kind === "index") problems.push(...(await checkIndex(source, file, text, context)));
      else {
        try {
          JSON.parse(text.toString("utf8"));
        } catch (error) {
          problem("error", "invalid-json", `invalid JSON: ${(error as Error).message.split("\n")[0]}`);
        }
      }
      // secrets in a JSON document, reported per line of its text
      const scanner = new SecretChunkScanner(context.scanner, maxPerFile);
      scanner.push(text);
      for (const hit of scanner.end()) problems.push(secretProblem(file.path, hit.kind, hit.line));
    }
  }
  if (digest !== undefined && record) {
    const size = file.size ?? 0;
    if (size !== record.size || digest !== record.sha256) {
      problem(
        options.strict ? "error" : "warning",
        "changed-since-sync",
        `changed since sync: ${size === record.size ? "same size, different content" : `${size} bytes, sync stored ${record.size}`} (sha256 differs from ${PROVENANCE_FILE})`,
      );
    }
  }
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return result;
}

const RULE_OF_KIND = new Map<string, string>();
for (const rule of SECRET_RULES) for (const kind of rule.kinds) RULE_OF_KIND.set(kind, rule.id);

function secretProblem(path: string, kind: string, line: number): Problem {
  const rule = RULE_OF_KIND.get(kind);
  return {
    path,
    line,
    severity: "error",
    code: "secret",
    kind,
    message: `${kind}${rule ? ` (secret found by ${rule})` : ""}`,
  };
}

async function checkIndex(
  source: Source,
  file: FileRef,
  text: Buffer,
  context: MemoryContext,
): Promise<Problem[]> {
  const problems: Problem[] = [];
  const problem = (severity: Severity, code: string, message: string) =>
    problems.push(fileProblem(file.path, severity, code, message));
  let index: SessionIndex;
  try {
    index = parseIndex(text.toString("utf8"));
  } catch (error) {
    if (error instanceof IndexParseError && error.kind === "shape")
      problem("error", "bad-index", "not an object keyed by session key");
    else problem("error", "invalid-json", `invalid JSON: ${(error as Error).message.split("\n")[0]}`);
    return problems;
  }
  const dir = dirname(file.path);
  const present = new Set(await source.names(dir));
  const pruned = new Set(
    Object.entries(context.provenance?.files ?? {})
      .filter(([, record]) => record.prunedAt)
      .map(([name]) => name),
  );
  const named = new Set<string>();
  for (const [key, entry] of Object.entries(index as Record<string, unknown>)) {
    if (!entry || typeof entry !== "object" || Array.isArray(entry)) {
      problem("error", "bad-entry", `entry "${key}" is not an object`);
      continue;
    }
    const value = entry as IndexEntry;
    if (typeof value.sessionId !== "string" || value.sessionId === "")
      problem("error", "bad-entry", `entry "${key}" has no string sessionId`);
    if (typeof value.updatedAt !== "number" || !Number.isFinite(value.updatedAt))
      problem("error", "bad-entry", `entry "${key}" has no numeric updatedAt`);
    if (context.exclusion?.keys.includes(key))
      problem(
        "error",
        "syncignored",
        `entry "${key}" is excluded by ${SYNCIGNORE_FILE} but still in the index`,
      );
    const transcript = transcriptOf(value);
    if (!transcript) continue;
    named.add(transcript);
    if (!present.has(transcript) && !pruned.has(transcript))
      problem("warning", "missing-transcript", `entry "${key}" names ${transcript}, which does not exist`);
  }
  for (const name of [...present].sort()) {
    if (classify(name).kind === "transcript" && !named.has(name))
      problem("warning", "orphan-transcript", `${name} is named by no entry`);
  }
  return problems;
}

/** `path:line:byte: severity: message` (line and byte when known). */
export function formatProblem(problem: Problem): string {
  const place = [problem.path, problem.line, problem.byte].filter((part) => part !== undefined).join(":");
  return `${place}: ${problem.severity}: ${problem.message}`;
}

export function displayPath(cwd: string, path: string): string {
  return toDisplay(relative(cwd, path) || ".");
}
