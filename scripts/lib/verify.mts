// What verify checks, independent of the command line. Files come from a Source (verify/input.mts: the work
// tree, or git's index with `--staged`, what the next commit will hold). Every file is read once, as a stream;
// every problem is collected with its place; nothing is printed here.
//
//   transcripts and archives   JSONL rules (jsonl.mts) + transcript header, secrets (secrets.mts)
//   other *.jsonl (any case)   JSONL rules + secrets (e.g. <memory>/pruned.jsonl)
//   every other file           secrets, line by line (notes, any extension, the agent's memory files in
//                              workspace/), except .secretsallow itself
//   every path                 a secret in a file or folder name: error (printed masked, as every output is)
//   sessions.json              an object of entries with string sessionId and numeric updatedAt; entries naming
//                              missing transcripts and transcripts no entry names are warnings; secrets
//   sessions.json.bak.*,       must parse as JSON
//   sync-provenance.json
//   with sync-provenance.json  a file whose bytes differ from what sync recorded (sessions/ and workspace/):
//                              warning (error with strict)
//   with .syncignore           a file or index key it excludes: error
//   in sessions/: locks, temporaries, sidecars, unknown names: warning
import { createHash } from "node:crypto";
import { basename, dirname } from "node:path";
import { JsonlValidator, type Severity } from "./jsonl.mts";
import { headBlobs, openSource, type FileRef, type Source } from "./verify/input.mts";
import { classify } from "./openclaw/files.mts";
import { WORKSPACE_DIR, isWorkspaceFile } from "./openclaw/workspace.mts";
import {
  ALLOW_FILE,
  SECRET_RULES,
  SecretChunkScanner,
  SecretScanner,
  parseAllowList,
  type SecretHit,
} from "./secrets.mts";
import { PROVENANCE_FILE, SESSIONS_DIR, botName, type Provenance } from "./store/provenance.mts";
import { NO_ZSTD, decompressChunks, isZstdFrame, storedCompressed } from "./zstd.mts";
import {
  SYNCIGNORE_FILE,
  applySyncIgnore,
  parseSyncIgnore,
  type Exclusion,
  type SyncIgnore,
} from "./store/syncignore.mts";
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

/** Starts the secret scan (and, when asked, the sha256) of one file's bytes. */
function beginScan(scanner: SecretScanner, hash: boolean, maxHits: number): ScanJob {
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
}

// ---------------------------------------------------------------------------------------------------------------
// The memory folder's context: provenance, .syncignore, the secrets allow list, the index.

interface MemoryContext {
  /** The memory folder's display path ("" for the cwd). */
  dir: string;
  provenance?: Provenance;
  exclusion?: Exclusion;
  /** The .syncignore rules, for keys in the index's `.bak` copies. */
  rules?: SyncIgnore;
  scanner: SecretScanner;
  problems: Problem[];
}

/** The memory folder a file belongs to: `<memory>/sessions/<file>`, `<memory>/workspace/<memory file>` (the
 * agent's memory files: `MEMORY.md`, `memory/<day>.md`, …) or `<memory>/<file>`. */
function memoryDirOf(path: string): string {
  return placeOf(path).memoryDir;
}

/** The memory folder of a file and, for one of the agent's memory files, its path inside the workspace. */
function placeOf(path: string): { memoryDir: string; workspacePath?: string } {
  const dir = dirname(path);
  const name = basename(path);
  if (basename(dir) === SESSIONS_DIR) return { memoryDir: dirname(dir) };
  if (basename(dir) === WORKSPACE_DIR && isWorkspaceFile(name))
    return { memoryDir: dirname(dir), workspacePath: name };
  if (basename(dirname(dir)) === WORKSPACE_DIR && isWorkspaceFile(`${basename(dir)}/${name}`))
    return { memoryDir: dirname(dirname(dir)), workspacePath: `${basename(dir)}/${name}` };
  return { memoryDir: dir };
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
    context.rules = rules;
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
  const source = openSource(cwd, Boolean(options.staged));
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
  try {
    const roots = paths.length ? paths : ["memory"];
    // The index and HEAD's tree are listed at the same time (two git commands, no file contents read).
    const [files, head] = await Promise.all([
      source.list(roots),
      options.staged && options.changed ? headBlobs(cwd, roots) : undefined,
    ]);
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
      const result = await checkFile(source, file, context, options, maxPerFile, unchanged);
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
  namesOnly = false,
): Promise<FileResult> {
  const name = basename(file.path);
  const inSessions = basename(dirname(file.path)) === SESSIONS_DIR;
  // A file stored under an escaped name (store/names.mts) is what its name on the bot says it is.
  const remote = inSessions ? botName(context.provenance, name) : name;
  const info = classify(remote);
  const kind = info.kind;
  const problems: Problem[] = [];
  const hidden = { errors: 0, warnings: 0 };
  const result: FileResult = { problems, hidden };
  const problem = (severity: Severity, code: string, message: string) =>
    problems.push(fileProblem(file.path, severity, code, message));

  if (inSessions && context.exclusion?.excludesFile(remote)) {
    problem(
      "error",
      "syncignored",
      `excluded by ${context.dir ? `${context.dir}/` : ""}${SYNCIGNORE_FILE} but present: run sync-memory.mts --apply-syncignore (it removes the session) or change the ignore file`,
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

  // A token used as a session id becomes a file name: reported here, shown masked wherever it is printed.
  for (const secret of context.scanner.scanLine(file.path)) {
    problem(
      "error",
      "secret-in-name",
      `the file's path holds a secret (${secret}): leave the session out with a ${SYNCIGNORE_FILE} line and run sync-memory.mts --apply-syncignore`,
    );
  }

  if (namesOnly) return result;

  const isJsonl = kind === "transcript" || kind === "archive" || name.toLowerCase().endsWith(".jsonl");
  const isJson = kind === "index" || kind === "index-backup" || name === PROVENANCE_FILE;
  const { workspacePath } = placeOf(file.path);
  const record = inSessions
    ? context.provenance?.files[name]
    : workspacePath !== undefined
      ? context.provenance?.workspace?.files[workspacePath]
      : undefined;
  const checkProvenance = record !== undefined && !record.prunedAt;
  // Every other file under memory/ (notes, any extension) gets the secret scan, line by line; the allow list
  // itself holds the known false positives.
  const scanOnly = !isJsonl && !isJson && name !== ALLOW_FILE;

  let digest: string | undefined;
  if (storedCompressed(info, name)) {
    // A zstd-compressed archive (OpenClaw 2026.7.2+): its lines are checked through the frame; the provenance
    // hash is over the stored bytes.
    let hash = createHash("sha256");
    let head: Buffer | undefined;
    async function* stored(): AsyncGenerator<Buffer> {
      for await (const chunk of source.open(file)) {
        head ??= Buffer.from(chunk.subarray(0, 4));
        hash.update(chunk);
        yield Buffer.from(chunk);
      }
    }
    const decoded = decompressChunks(stored());
    if (!decoded) {
      for await (const _ of stored());
      if (!head || !isZstdFrame(head)) problem("error", "bad-zstd", "named .zst but not a zstd frame");
      else
        problem(
          "warning",
          "compressed-unchecked",
          `zstd-compressed and ${NO_ZSTD}: its lines and secrets were not checked`,
        );
    } else {
      const scan = beginScan(context.scanner, false, maxPerFile);
      const validator = new JsonlValidator({
        transcript: true,
        maxProblems: maxPerFile,
        onWindow: scan.window,
      });
      try {
        for await (const chunk of decoded) {
          await scan.push(chunk as Buffer);
          validator.push(chunk as Buffer);
          scan.settle();
        }
        const summary = validator.end();
        const scanned = await scan.end();
        for (const p of summary.problems)
          problems.push({
            path: file.path,
            line: p.line,
            severity: p.severity,
            code: p.code,
            message: p.message,
          });
        for (const hit of scanned.hits) problems.push(secretProblem(file.path, hit.kind, hit.line));
      } catch (error) {
        hash = createHash("sha256");
        for await (const _ of stored());
        problem("error", "bad-zstd", `cannot decompress: ${(error as Error).message}`);
      }
    }
    digest = checkProvenance ? hash.digest("hex") : undefined;
  } else if (isJsonl) {
    // The validator decodes each chunk's complete lines once (in windows); the secret scan reuses that text.
    const scan = beginScan(context.scanner, checkProvenance, maxPerFile);
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
  } else if (scanOnly) {
    const scanner = new SecretChunkScanner(context.scanner, maxPerFile);
    const hash = checkProvenance ? createHash("sha256") : undefined;
    for await (const chunk of source.open(file)) {
      scanner.push(chunk);
      hash?.update(chunk);
    }
    digest = hash?.digest("hex");
    for (const hit of scanner.end()) problems.push(secretProblem(file.path, hit.kind, hit.line));
    hidden.errors += scanner.extra;
  } else if (isJson || checkProvenance) {
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
        let value: unknown;
        try {
          value = JSON.parse(text.toString("utf8"));
        } catch (error) {
          problem("error", "invalid-json", `invalid JSON: ${(error as Error).message.split("\n")[0]}`);
        }
        // An old copy of the index holds the excluded sessions' entries as much as the index itself.
        if (kind === "index-backup" && context.rules && value && typeof value === "object")
          for (const key of Object.keys(value).filter((key) => context.rules!.ignoresKey(key)))
            problem(
              "error",
              "syncignored",
              `entry "${key}" is excluded by ${SYNCIGNORE_FILE} but still in this copy of the index: run sync-memory.mts --apply-syncignore`,
            );
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
  // By the names on the bot, which the index uses (a file may be stored under an escaped name).
  const present = new Set((await source.names(dir)).map((name) => botName(context.provenance, name)));
  const pruned = new Set(
    Object.entries(context.provenance?.files ?? {})
      .filter(([, record]) => record.prunedAt)
      .map(([name]) => botName(context.provenance, name)),
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
        `entry "${key}" is excluded by ${SYNCIGNORE_FILE} but still in the index: run sync-memory.mts --apply-syncignore`,
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
