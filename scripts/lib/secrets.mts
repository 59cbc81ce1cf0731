// Secret detection and redaction for transcript lines, with secretlint's recommended rule preset
// (@secretlint/secretlint-rule-preset-recommend): the rules run in-process and offline, driven directly and
// synchronously (no secretlint core, no config files, no network). Two rules are left out: filter-comments
// (a chat message saying "secretlint-disable" must not switch detection off) and gcp (it only judges whole
// `.json`/`.p12` files; a service-account key pasted into a chat is caught by the private-key rule). This
// project's own rules (secret-rules.mts: Google API keys, AWS access key ids, Fly, Telegram, OpenRouter) run too.
//
// Encodings: the rules see a line's decoded text (every JSON escape, `\/` and `\uXXXX` for ASCII included, and
// again for JSON inside a string), and redaction rewrites the JSON string holding the secret, so a line stays
// valid JSON and the secret is gone in every form. verify (SecretChunkScanner) and sync (redactJsonlChunk) share
// the one `SecretScanner.find`.
//
// Speed: the rules are ~30 regular expressions; running them on every line would cost several times more than
// parsing the line. A literal prefilter (`hasCandidate`) looks for the fixed parts every rule's pattern needs
// (`ghp_`, `sk-`, `-----BEGIN`, `://…@`, …) and only lines that contain one meet the rules. The prefilter is a
// superset of the rules by construction; test/secrets.test.mts checks it against every rule.
//
// Nothing here ever returns or prints a secret's text: callers get kinds (secretlint message ids such as
// GITHUB_TOKEN) and line numbers; redaction replaces each value with `[REDACTED:<kind>]`.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { setOutputFilter } from "./cli.mts";
import { windowEnd } from "./jsonl.mts";
import { projectRules } from "./secret-rules.mts";

export interface SecretHit {
  kind: string;
  line: number;
}

/** One detected secret. `value` is internal: never print it. */
interface Finding {
  kind: string;
  ruleId: string;
  value: string;
  /** Range in the scanned text, when the value was found there verbatim. */
  start: number;
  end: number;
}

// The slice of secretlint's rule API these rules use (see @secretlint/types).
interface RuleContext {
  sharedOptions: Record<string, unknown>;
  createTranslator(
    messages: Record<string, unknown>,
  ): (messageId: string, props?: Record<string, unknown>) => unknown;
  report(descriptor: { message: unknown; range: readonly [number, number] | number[] }): void;
  ignore(): void;
}
interface RuleCreator {
  meta: { id: string };
  messages?: Record<string, unknown>;
  create(context: RuleContext, options: Record<string, unknown>): { file?: (source: SourceCode) => unknown };
}
interface SourceCode {
  content: string;
  filePath: string;
  ext: string;
  contentType: "text";
}
interface Translated {
  messageId: string;
  props: Record<string, unknown>;
}

// The preset is loaded with require where that works: tsx rewrites an ES module from node_modules that holds a
// dynamic import() (this 230 KB bundle does) on every load, uncached, ~0.1 s of CPU per run of every command;
// through require tsx compiles it once and caches the result (~0.02 s). Node 20.19+ and Deno require an ES module
// natively. Elsewhere (the pre-commit hook's esbuild bundle, which lives outside the project; an older Node
// without tsx) require fails and the preset is imported.
type Preset = typeof import("@secretlint/secretlint-rule-preset-recommend");
async function loadPreset(): Promise<Preset> {
  try {
    return createRequire(import.meta.url)("@secretlint/secretlint-rule-preset-recommend") as Preset;
  } catch {
    return import("@secretlint/secretlint-rule-preset-recommend");
  }
}
const { rules: presetRules } = await loadPreset();

const LEFT_OUT = new Set(["@secretlint/secretlint-rule-filter-comments", "@secretlint/secretlint-rule-gcp"]);
const RULES = [
  ...(presetRules as unknown as RuleCreator[]).filter((rule) => !LEFT_OUT.has(rule.meta.id)),
  ...(projectRules as unknown as RuleCreator[]),
];

/** The rules that apply, by secretlint id, with the kinds each reports (the preset's, then this project's own). */
export const SECRET_RULES: ReadonlyArray<{ id: string; kinds: string[] }> = RULES.map((rule) => ({
  id: rule.meta.id,
  kinds: Object.keys(rule.messages ?? {}),
}));

export const ALLOW_FILE = ".secretsallow";

export interface ScannerOptions {
  /** secretlint `allows`: literal strings or `/regex/flags` matched against the detected secret text. */
  allows?: string[];
}

export class SecretScanner {
  private readonly handlers: Array<{ id: string; file: (source: SourceCode) => unknown }> = [];
  private sink: Finding[] = [];
  private content = "";
  private currentRule = "";

  constructor(readonly options: ScannerOptions = {}) {
    for (const rule of RULES) {
      const context: RuleContext = {
        sharedOptions: {},
        createTranslator: () => (messageId, props) =>
          ({ messageId, props: props ?? {} }) satisfies Translated,
        report: ({ message, range }) => this.collect(message as Translated, range),
        ignore: () => {},
      };
      const handler = rule.create(context, { allows: options.allows ?? [] });
      if (handler.file) this.handlers.push({ id: rule.meta.id, file: handler.file.bind(handler) });
    }
  }

  /** Every secret in `text` according to the rules (no prefilter). */
  private runRules(text: string): Finding[] {
    this.sink = [];
    this.content = text;
    const source: SourceCode = {
      content: text,
      filePath: "transcript.jsonl",
      ext: ".jsonl",
      contentType: "text",
    };
    for (const { id, file } of this.handlers) {
      this.currentRule = id;
      const result = file(source);
      // The rules used here are synchronous; a promise would mean a rule this module does not know.
      if (result && typeof (result as Promise<unknown>).then === "function")
        (result as Promise<unknown>).catch(() => {});
    }
    const found = this.sink;
    this.sink = [];
    this.content = "";
    return found;
  }

  private collect(message: Translated, range: readonly [number, number] | number[]): void {
    const [from, to] = [range[0] ?? 0, range[1] ?? 0];
    // A rule's message data carries the matched text; some rules' ranges start at the key name rather than at
    // the value (aws), so locate the value itself near the reported range.
    let value = this.content.slice(from, to);
    let start = from;
    for (const prop of Object.values(message.props ?? {})) {
      if (typeof prop !== "string" || prop.length < 8) continue;
      const at = this.content.indexOf(prop, Math.max(0, from - prop.length));
      const where = at >= 0 ? at : this.content.indexOf(prop);
      if (where >= 0) {
        value = prop;
        start = where;
        break;
      }
    }
    if (value === "") return;
    this.sink.push({
      kind: message.messageId,
      ruleId: this.currentRule,
      value,
      start,
      end: start + value.length,
    });
  }

  /**
   * Secrets in one line. The rules see the line and its decoded text: every JSON string escape (`\/`, `\uXXXX`
   * for any character including ASCII and surrogate pairs, `\n`, `\t`, `\"`, …) replaced by the character it
   * stands for, wherever it is, and again for JSON inside a JSON string (a tool result holding an API's
   * response), so a secret is found in whatever form an encoder wrote it. Ranges are in the raw line.
   */
  private find(line: string): { found: Finding[]; views: DecodedView[] } {
    if (line.indexOf("\\") < 0) {
      // No escape: the decoded text is the line itself.
      if (!hasRuleCandidate(line)) return { found: [], views: [] };
      return { found: dedupe(this.runRules(line)), views: [plainView(line)] };
    }
    // Only `\/` and `\u00XX` for printable ASCII can hide the fixed part of a pattern (the other escapes decode
    // to a quote, a backslash, a control or a non-ASCII character, which no prefilter needle contains; a nested
    // `\\u0067` still shows as `\u0067`): without them the raw line's prefilter answer is a superset of every
    // decoded level's, and a line without a candidate is not decoded.
    if (!hasDeepEscape(line, 0)) {
      if (!hasRuleCandidate(line)) return { found: [], views: [] };
    } else if (!hasRuleCandidate(line)) {
      // Decode without the position maps first: most such lines hold nothing once decoded either.
      let text = line;
      let candidate = false;
      for (let depth = 0; depth < 3 && !candidate && text.includes("\\"); depth++) {
        const next = decodeText(text);
        if (next === text) break;
        candidate = hasRuleCandidate(next);
        text = next;
      }
      if (!candidate) return { found: [], views: [] };
    }
    const views = decodedLevels(line);
    const found: Finding[] = [];
    for (const view of views) {
      if (!hasRuleCandidate(view.text)) continue;
      for (const finding of this.runRules(view.text))
        found.push({ ...finding, start: rawAt(view, finding.start), end: rawAt(view, finding.end) });
    }
    return { found: dedupe(found), views };
  }

  /**
   * The text with each secret cut to a masked prefix (`ghp_…`), for anything a command prints: a file name or a
   * session id that holds a token is shown, never in full.
   */
  mask(text: string): string {
    if (!hasCandidate(text)) return text;
    return text
      .split("\n")
      .map((line) => {
        const { found } = this.find(line);
        if (found.length === 0) return line;
        return rewrite(
          line,
          found.map((f) => ({ ...f, replacement: maskedPrefix(f.value) })),
          false,
        );
      })
      .join("\n");
  }

  /** Kinds of the secrets in a line (one entry per secret), for verify. */
  scanLine(line: string): string[] {
    return this.find(line).found.map((finding) => finding.kind);
  }

  /**
   * Replaces each secret in a line (without its "\n") by `[REDACTED:<kind>]`, inside the JSON string that holds
   * it: the string is rewritten, so a line that was valid JSON stays valid JSON, and the bytes outside the
   * rewritten strings stay as they were. Every other occurrence of the secret's text on the line goes too,
   * whatever its encoding. A line without secrets comes back as the same string.
   */
  redactLine(line: string): { text: string; kinds: string[] } {
    const first = this.find(line);
    if (first.found.length === 0) return { text: line, kinds: [] };
    const kinds = first.found.map((finding) => finding.kind);
    const json = parses(line);
    const values = new Map<string, string>();
    let text = line;
    let { found, views } = first;
    for (let round = 0; round < 4; round++) {
      for (const finding of found) if (!values.has(finding.value)) values.set(finding.value, finding.kind);
      if (views.length === 0) views = decodedLevels(text);
      const ranges = found.map((f) => ({ start: f.start, end: f.end, kind: f.kind }));
      // The same text elsewhere on the line, in any form (a rule may need context another copy lacks).
      for (const view of views) {
        for (const [value, kind] of values) {
          if (value.length < 8) continue;
          for (let at = view.text.indexOf(value); at >= 0; at = view.text.indexOf(value, at + value.length))
            ranges.push({ start: rawAt(view, at), end: rawAt(view, at + value.length), kind });
        }
      }
      if (ranges.length === 0) break;
      const next = rewrite(text, ranges, json);
      if (next === text) break;
      text = next;
      ({ found, views } = this.find(text));
    }
    return { text, kinds };
  }
}

/** The first few characters of a secret (letters, digits, `_`, `-` only), then `…`. */
export function maskedPrefix(value: string): string {
  return `${value.slice(0, 4).replace(/[^A-Za-z0-9_-]/g, "")}…`;
}

/** See SecretScanner.mask (no allow list: an allowed value is masked in output too). */
export function maskSecrets(text: string): string {
  return scanner().mask(text);
}

// Whatever a command prints passes through the mask (cli.mts).
setOutputFilter(maskSecrets);

export function marker(kind: string): string {
  return `[REDACTED:${kind}]`;
}

let defaultScanner: SecretScanner | undefined;
function scanner(): SecretScanner {
  return (defaultScanner ??= new SecretScanner());
}

/** Kinds found in a line (no allow list), for verify. */
export function scanLine(line: string): string[] {
  return scanner().scanLine(line);
}

/** See SecretScanner.redactLine (no allow list). */
export function redactLine(line: string): { text: string; kinds: string[] } {
  return scanner().redactLine(line);
}

/**
 * A scanner honouring `<memory>/.secretsallow` (false positives: one secretlint `allows` entry per line, a
 * literal or `/regex/flags`; `#` starts a comment). Without the file, the plain scanner.
 */
export async function loadSecretScanner(memoryDir: string): Promise<SecretScanner> {
  let text: string;
  try {
    text = await readFile(join(memoryDir, ALLOW_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return scanner();
    throw error;
  }
  return new SecretScanner({ allows: parseAllowList(text) });
}

export function parseAllowList(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

// ---------------------------------------------------------------------------------------------------------------
// Streaming redaction for sync: feed chunks of a JSONL file, get the redacted bytes back. Lines without a
// prefilter candidate pass through as the same bytes; the unfinished last line (if any) is redacted as text.

export interface RedactState {
  scanner: SecretScanner;
  carry: Buffer[];
  /** Secrets replaced so far. */
  redactions: number;
  /** Replacements per kind. */
  kinds: Record<string, number>;
  /** 1-based numbers of the lines that were changed. */
  lines: number[];
  lineNo: number;
}

export function createRedactState(secretScanner: SecretScanner = scanner()): RedactState {
  return { scanner: secretScanner, carry: [], redactions: 0, kinds: {}, lines: [], lineNo: 0 };
}

/**
 * Redacts one chunk of a JSONL stream; call with `null` at the end to flush the last (unterminated) line.
 * Returns the bytes to write (complete lines only, until the flush).
 */
export function redactJsonlChunk(state: RedactState, chunk: Buffer | null): Buffer {
  if (chunk === null) {
    const rest = Buffer.concat(state.carry);
    state.carry = [];
    if (rest.length === 0) return rest;
    state.lineNo++;
    return redactRegion(state, rest, rest.length, false);
  }
  const last = chunk.lastIndexOf(0x0a);
  if (last < 0) {
    state.carry.push(Buffer.from(chunk));
    return Buffer.alloc(0);
  }
  const buffer = state.carry.length ? Buffer.concat([...state.carry, chunk]) : chunk;
  const cut = buffer.length - (chunk.length - last - 1);
  state.carry = cut < buffer.length ? [Buffer.from(buffer.subarray(cut))] : [];
  return redactRegion(state, buffer.subarray(0, cut), cut, true);
}

function redactRegion(state: RedactState, region: Buffer, length: number, complete: boolean): Buffer {
  const text = region.toString("latin1", 0, length);
  if (!hasCandidate(text)) {
    state.lineNo += complete ? countNewlines(region) : 0;
    return region;
  }
  const parts: Buffer[] = [];
  let start = 0;
  while (start < length) {
    let end = region.indexOf(0x0a, start);
    const terminated = end >= 0;
    if (!terminated) end = length;
    if (terminated) state.lineNo++;
    const line = region.toString("utf8", start, end);
    const { text: redacted, kinds } = state.scanner.redactLine(line);
    if (kinds.length) {
      state.redactions += kinds.length;
      for (const kind of kinds) state.kinds[kind] = (state.kinds[kind] ?? 0) + 1;
      state.lines.push(state.lineNo);
      parts.push(Buffer.from(redacted, "utf8"));
      if (terminated) parts.push(NEWLINE_BYTES);
    } else {
      parts.push(region.subarray(start, terminated ? end + 1 : end));
    }
    start = end + 1;
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

const NEWLINE_BYTES = Buffer.from("\n");

function countNewlines(buf: Buffer): number {
  let n = 0;
  let at = buf.indexOf(0x0a);
  while (at >= 0) {
    n++;
    at = buf.indexOf(0x0a, at + 1);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// Streaming scan for verify: feed chunks, collect {kind, line} hits. Works on whole chunks: one prefilter pass
// over the chunk's bytes, then only the lines around a candidate are decoded and given to the rules.

export class SecretChunkScanner {
  private carry: Buffer[] = [];
  private lineNo = 0; // complete lines before the current buffer
  readonly hits: SecretHit[] = [];
  /** Hits beyond the cap are counted here, not kept. */
  extra = 0;

  /** The complete lines of the last chunk, left for window() to hand over already decoded. */
  private pending?: { buffer: Buffer; at: number; to: number };

  constructor(
    private readonly secretScanner: SecretScanner = scanner(),
    private readonly maxHits = 50,
    /**
     * Another reader of the same chunks decodes their complete lines (JsonlValidator's onWindow): push() leaves
     * them to window(), and settle() (after that reader has seen the chunk) scans whatever it did not hand over.
     */
    private readonly shared = false,
  ) {}

  push(chunk: Buffer): void {
    this.settle();
    let from = 0;
    if (this.carry.length) {
      const nl = chunk.indexOf(0x0a);
      if (nl < 0) {
        this.carry.push(Buffer.from(chunk)); // a copy: the caller may reuse the chunk's memory
        return;
      }
      // Only the line that straddles the chunk boundary is joined; the rest is scanned in place.
      const joined = Buffer.concat([...this.carry, chunk.subarray(0, nl + 1)]);
      this.carry = [];
      this.scan(joined, 0, joined.length);
      from = nl + 1;
    }
    const last = chunk.lastIndexOf(0x0a);
    if (last >= from) {
      if (this.shared) this.pending = { buffer: chunk, at: from, to: last + 1 };
      else this.scan(chunk, from, last + 1);
      from = last + 1;
    }
    if (from < chunk.length) this.carry.push(Buffer.from(chunk.subarray(from)));
  }

  /** The latin1 text of buffer[from, to), the next window of the chunk last pushed (else ignored). */
  window(buffer: Buffer, from: number, to: number, text: string): void {
    const pending = this.pending;
    if (!pending || buffer !== pending.buffer || from !== pending.at || to > pending.to) return;
    this.scanWindow(buffer, from, to, text);
    pending.at = to;
  }

  /** Scans what is left of the chunk last pushed. */
  settle(): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    if (pending.at < pending.to) this.scan(pending.buffer, pending.at, pending.to);
  }

  end(): SecretHit[] {
    this.settle();
    const rest = Buffer.concat(this.carry);
    this.carry = [];
    if (rest.length) this.scan(rest, 0, rest.length);
    return this.hits;
  }

  /** Scans buffer[from, to), which ends at a line end (or the end of the file), in windows of whole lines. */
  private scan(buffer: Buffer, from: number, to: number): void {
    let start = from;
    while (start < to) {
      // Windows of about 64 KiB keep the decoded text small enough to be collected young.
      const end = windowEnd(buffer, start, to);
      this.scanWindow(buffer, start, end);
      start = end;
    }
  }

  private scanWindow(
    buffer: Buffer,
    from: number,
    to: number,
    text = buffer.toString("latin1", from, to),
  ): void {
    // latin1 maps bytes 1:1 to chars, so positions are byte offsets; the anchors are ASCII and UTF-8
    // continuation bytes never look like ASCII, so nothing is missed.
    const length = text.length;
    let lineStart = 0;
    let counted = 0; // newlines before lineStart
    const cache: number[] = [];
    let at = nextCandidate(text, 0, cache);
    while (at >= 0) {
      const start = at > 0 ? text.lastIndexOf("\n", at - 1) + 1 : 0;
      let end = text.indexOf("\n", at);
      if (end < 0) end = length;
      counted += countNewlinesIn(text, lineStart, start);
      lineStart = start;
      const line = this.lineNo + counted + 1;
      for (const kind of this.secretScanner.scanLine(buffer.toString("utf8", from + start, from + end))) {
        if (this.hits.length < this.maxHits) this.hits.push({ kind, line });
        else this.extra++;
      }
      at = end + 1 < length ? nextCandidate(text, end + 1, cache) : -1;
    }
    this.lineNo += counted + countNewlinesIn(text, lineStart, length);
  }
}

function countNewlinesIn(text: string, from: number, to: number): number {
  let n = 0;
  let at = text.indexOf("\n", from);
  while (at >= 0 && at < to) {
    n++;
    at = text.indexOf("\n", at + 1);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// The prefilter. Each rule's pattern contains a fixed part; the gates below find those parts with plain
// indexOf scans (a few GB/s) and a short look at the characters around each hit. Keep in step with the preset:
//   '_' after  sk rk (stripe) gh[pousr] github (github) glc glsa (grafana) npm gsk (groq) hf lin (linear) ntn
//              shppa shpca shpat shpss ops (1password) vc[piark] (vercel) dckr (docker) figd cfk cfut cfat,
//              and `_authToken` (npm); fm1_ fm2_ fm1a_ … (fly, ours)
//   '-' after  sk (openai, anthropic, openrouter: ours) glpat xox[bpaor] xapp (slack) tskey x (x-oauth-basic); `-----BEGIN`
//   `SG.` (sendgrid), `hvs.` `hvb.` `hvr.` (vault)
//   `://` followed by `user:password@` or hooks.slack.com (basic auth, database URLs, slack webhooks)
//   `dapi` (databricks), `key`/`Key`/`KEY` after secret_access in the three spellings (aws secret access key)
//   ours (secret-rules.mts): `AIza` (google), `AKIA` `ASIA` (aws key ids), `<digit>:AA` (telegram)
// Each native indexOf restarts at every occurrence of its needle's first character, so a needle is searched by a
// part that starts with a rarer character (`//` for `://`, `pi` for `dapi`, `hv` and `SG.` rather than `.`,
// `key` and `K` rather than `ccess`, `za` for `AIza`, `IA` for `AKIA`).

const UNDERSCORE_PREFIX =
  /(?:sk|rk|gh[pousr]|github|glc|glsa|npm|gsk|hf|lin|ntn|shp(?:pa|ca|at|ss)|ops|vc[piark]|dckr|figd|cfk|cfut|cfat|fm[12][ar]?)$/;
const DASH_PREFIX = /(?:sk|glpat|xox[bpaor]|xapp|tskey)$/;
// Six times the rules' bounds: in a raw line a decoded character may take up to six (`\u001b`).
const URL_CREDENTIALS = /:\/\/(?:[^\s/@]{1,600}:[^\s/@]{1,1536}@|hooks\.slack\.com\/)/iy;
const AWS_BEFORE = /(?:SECRET|secret|Secret)_?(?:ACCESS|access|Access)_?$/;

// The two characters before a gate character, as a table of allowed pairs: most occurrences (dates, UUIDs,
// snake_case, sentences) are rejected with one lookup before any regular expression runs.
function pairs(list: string[]): Uint8Array {
  const table = new Uint8Array(65536);
  for (const pair of list) table[((pair.charCodeAt(0) & 0xff) << 8) | (pair.charCodeAt(1) & 0xff)] = 1;
  return table;
}
const BEFORE_UNDERSCORE = pairs(
  ["sk", "rk", "hp", "ho", "hu", "hs", "hr", "ub", "lc", "sa", "pm", "hf", "in", "tn"].concat([
    "pa",
    "ca",
    "at",
    "ss",
    "ps",
    "cp",
    "ci",
    "cr",
    "ck",
    "kr",
    "gd",
    "fk",
    "ut",
    "m1",
    "m2",
    "1a",
    "1r",
    "2a",
    "2r",
  ]),
);
const BEFORE_DASH = pairs(["sk", "at", "xb", "xp", "xa", "xo", "xr", "pp", "ey", "--"]);

function pairBefore(text: string, i: number): number {
  return i < 2 ? 0 : ((text.charCodeAt(i - 2) & 0xff) << 8) | (text.charCodeAt(i - 1) & 0xff);
}

function awsBefore(text: string, i: number): boolean {
  const c = text.charCodeAt(i - 1) === 0x5f ? text.charCodeAt(i - 2) : text.charCodeAt(i - 1);
  return (c === 0x73 || c === 0x53) && AWS_BEFORE.test(text.slice(Math.max(0, i - 14), i)); // acces[sS]
}

/**
 * Whether a raw line could hold something a rule matches once its escapes are decoded: a prefilter needle, or a
 * `\uXXXX` / `\/` escape (which could hide one; such lines are decoded and checked again).
 */
export function hasCandidate(text: string): boolean {
  return nextCandidate(text, 0) >= 0;
}

/** Whether a text (decoded, or without escapes) contains something a rule could match. */
export function hasRuleCandidate(text: string): boolean {
  return nextCandidate(text, 0, undefined, RULE_GATES) >= 0;
}

/**
 * Escapes that could hide part of a needle: `\/`, or a `\u00XX` for printable ASCII (needles are printable ASCII;
 * `\u001b` in coloured tool output or `\ud83d` cannot be part of one). A nested `\\u0067` contains `\u0067` too,
 * so one search covers every level. Two gates (one needle each), so that nextCandidate's cache works.
 */
function asciiEscape(text: string, from: number): number {
  for (let u = text.indexOf("\\u00", from); u >= 0; u = text.indexOf("\\u00", u + 4)) {
    const c = text.charCodeAt(u + 4);
    if (c >= 0x32 && c <= 0x37) return u; // 2-7
  }
  return -1;
}
function slashEscape(text: string, from: number): number {
  return text.indexOf("\\/", from);
}

function hasDeepEscape(text: string, from: number): boolean {
  return slashEscape(text, from) >= 0 || asciiEscape(text, from) >= 0;
}

type Gate = (text: string, from: number) => number;

const RULE_GATES: Gate[] = [
  (text, from) => {
    for (let i = text.indexOf("_", from); i >= 0; i = text.indexOf("_", i + 1)) {
      if (text.charCodeAt(i + 1) === 0x61 && text.startsWith("_authToken", i)) return i;
      if (BEFORE_UNDERSCORE[pairBefore(text, i)] && UNDERSCORE_PREFIX.test(text.slice(Math.max(0, i - 6), i)))
        return i;
    }
    return -1;
  },
  (text, from) => {
    for (let i = text.indexOf("-", from); i >= 0; i = text.indexOf("-", i + 1)) {
      if (text.charCodeAt(i - 1) === 0x78 && text.startsWith("x-oauth-basic@", i - 1)) return i;
      if (!BEFORE_DASH[pairBefore(text, i)]) continue;
      if (text.startsWith("-----BEGIN", i - 4) || DASH_PREFIX.test(text.slice(Math.max(0, i - 5), i)))
        return i;
    }
    return -1;
  },
  (text, from) => {
    const sendgrid = text.indexOf("SG.", from);
    for (let i = text.indexOf("hv", from); i >= 0; i = text.indexOf("hv", i + 1)) {
      if (sendgrid >= 0 && i > sendgrid) break;
      const c = text.charCodeAt(i + 2);
      if ((c === 0x73 || c === 0x62 || c === 0x72) && text.charCodeAt(i + 3) === 0x2e) return i; // hv[sbr].
    }
    return sendgrid;
  },
  (text, from) => {
    for (let i = text.indexOf("//", from + 1); i >= 0; i = text.indexOf("//", i + 1)) {
      if (text.charCodeAt(i - 1) !== 0x3a) continue; // ':'
      URL_CREDENTIALS.lastIndex = i - 1;
      if (URL_CREDENTIALS.test(text)) return i - 1;
    }
    return -1;
  },
  (text, from) => {
    for (let i = text.indexOf("pi", from + 2); i >= 0; i = text.indexOf("pi", i + 1)) {
      if (text.charCodeAt(i - 1) === 0x61 && text.charCodeAt(i - 2) === 0x64) return i - 2; // dapi
    }
    return -1;
  },
  (text, from) => {
    // secret_access_key: its `key` (or `Key`, `KEY`), then the 6 + 1 + 6 + 1 characters before it
    let best = -1;
    for (let i = text.indexOf("key", from); i >= 0; i = text.indexOf("key", i + 1)) {
      if (awsBefore(text, i)) {
        best = i;
        break;
      }
    }
    for (let i = text.indexOf("K", from); i >= 0 && (best < 0 || i < best); i = text.indexOf("K", i + 1)) {
      const e = text.charCodeAt(i + 1);
      const y = text.charCodeAt(i + 2);
      if (((e === 0x65 && y === 0x79) || (e === 0x45 && y === 0x59)) && awsBefore(text, i)) return i; // Key, KEY
    }
    return best;
  },
  // this project's rules (secret-rules.mts): AIza (google), AKIA/ASIA (aws ids), <digits>:AA (telegram)
  (text, from) => {
    for (let i = text.indexOf("za", from + 2); i >= 0; i = text.indexOf("za", i + 1)) {
      if (text.charCodeAt(i - 1) === 0x49 && text.charCodeAt(i - 2) === 0x41) return i - 2; // AI
    }
    return -1;
  },
  (text, from) => {
    for (let i = text.indexOf("IA", from + 2); i >= 0; i = text.indexOf("IA", i + 1)) {
      const c = text.charCodeAt(i - 1);
      if ((c === 0x4b || c === 0x53) && text.charCodeAt(i - 2) === 0x41) return i - 2; // AKIA, ASIA
    }
    return -1;
  },
  (text, from) => {
    for (let i = text.indexOf("AA", from + 1); i >= 0; i = text.indexOf("AA", i + 1)) {
      const c = text.charCodeAt(i - 2);
      if (text.charCodeAt(i - 1) === 0x3a && c >= 0x30 && c <= 0x39) return i - 1; // <digit>:AA
    }
    return -1;
  },
];
const GATES: Gate[] = [...RULE_GATES, slashEscape, asciiEscape];

/**
 * The position of the first candidate at or after `from` (approximately: within the right line), or -1.
 * `cache` (one slot per gate, reused across calls on the same text with growing `from`) avoids rescanning.
 */
export function nextCandidate(text: string, from: number, cache?: number[], gates: Gate[] = GATES): number {
  let best = -1;
  for (let g = 0; g < gates.length; g++) {
    let at: number;
    const known = cache?.[g];
    if (known !== undefined && (known === -1 || known >= from)) at = known;
    else {
      at = gates[g](text, from);
      if (cache) cache[g] = at;
    }
    if (at >= 0 && (best < 0 || at < best)) best = at;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------------

function dedupe(found: Finding[]): Finding[] {
  const seen = new Set<string>();
  const out: Finding[] = [];
  for (const finding of found) {
    const key = `${finding.start}:${finding.end}:${finding.value}`;
    if (seen.has(key)) continue;
    // The same text reported twice by overlapping rules counts once.
    if (
      out.some((f) => f.start >= 0 && finding.start >= 0 && f.start <= finding.start && finding.end <= f.end)
    )
      continue;
    seen.add(key);
    out.push(finding);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding and rewriting

/** A line's decoded text, and for each of its characters where that character's escape starts in the raw line. */
interface DecodedView {
  text: string;
  /** map[i] = raw offset of decoded char i; map[text.length] = the raw length. Absent: the identity. */
  map?: Int32Array;
}

/** Offset in the raw line of a position in a decoded text. */
function rawAt(view: DecodedView, i: number): number {
  return view.map ? view.map[i] : i;
}

/** The raw line, then its decoded text, then that decoded again (JSON inside a JSON string), up to 3 levels. */
function decodedLevels(line: string): DecodedView[] {
  const views: DecodedView[] = [plainView(line)];
  let current = views[0];
  for (let depth = 0; depth < 3 && current.text.includes("\\"); depth++) {
    const next = decodeEscapes(current.text);
    if (next.text === current.text) break;
    const inner = current.map;
    if (inner && next.map) for (let i = 0; i < next.map.length; i++) next.map[i] = inner[next.map[i]];
    views.push(next);
    current = next;
  }
  return views;
}

function plainView(text: string): DecodedView {
  return { text };
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};
const HEX4 = /^[0-9a-fA-F]{4}$/;

/**
 * Decodes every JSON string escape in `raw`, wherever it is (in valid JSON escapes only occur inside strings; in
 * anything else decoding them too errs on the side of finding more). A backslash that starts no valid escape
 * stays as it is. `\uD83D\uDE00` gives the two UTF-16 units of one character, as JSON.parse does.
 */
export function decodeEscapes(raw: string): DecodedView {
  const map = new Int32Array(raw.length + 1);
  const parts: string[] = [];
  let d = 0;
  let i = 0;
  for (let b = raw.indexOf("\\"); b >= 0; b = raw.indexOf("\\", i)) {
    if (b > i) {
      parts.push(raw.slice(i, b));
      for (let k = i; k < b; k++) map[d++] = k;
    }
    const next = raw[b + 1];
    let char = next === undefined ? undefined : SIMPLE_ESCAPES[next];
    let length = 2;
    if (next === "u") {
      const hex = raw.slice(b + 2, b + 6);
      if (HEX4.test(hex)) {
        char = String.fromCharCode(parseInt(hex, 16));
        length = 6;
      }
    }
    map[d++] = b;
    if (char === undefined) {
      parts.push("\\");
      i = b + 1;
    } else {
      parts.push(char);
      i = b + length;
    }
  }
  if (i < raw.length) {
    parts.push(raw.slice(i));
    for (let k = i; k < raw.length; k++) map[d++] = k;
  }
  map[d] = raw.length;
  return { text: parts.join(""), map: map.subarray(0, d + 1) };
}

const ESCAPE = /\\(?:u([0-9a-fA-F]{4})|(["\\/bfnrt]))/g;

/** decodeEscapes(raw).text, without the position map. */
function decodeText(raw: string): string {
  return raw.replace(ESCAPE, (_, hex: string | undefined, simple: string | undefined) =>
    hex !== undefined ? String.fromCharCode(parseInt(hex, 16)) : SIMPLE_ESCAPES[simple!],
  );
}

/** The content ranges [start, end) of the string literals in a raw JSON line (an unterminated one runs to the end). */
function literals(raw: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let i = raw.indexOf('"');
  while (i >= 0) {
    const start = i + 1;
    let j = start;
    for (;;) {
      const quote = raw.indexOf('"', j);
      const slash = raw.indexOf("\\", j);
      if (quote < 0) {
        j = raw.length;
        break;
      }
      if (slash >= 0 && slash < quote) {
        j = slash + 2;
        continue;
      }
      j = quote;
      break;
    }
    out.push([start, Math.min(j, raw.length)]);
    i = j < raw.length ? raw.indexOf('"', j + 1) : -1;
  }
  return out;
}

/**
 * Replaces ranges of `raw` (at escape boundaries) by markers. In a JSON line only the parts inside string literals are
 * rewritten (whole escape sequences, so each string stays a valid JSON string); otherwise the raw range itself.
 */
function rewrite(
  raw: string,
  ranges: Array<{ start: number; end: number; kind: string; replacement?: string }>,
  json: boolean,
): string {
  const rawRanges = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start || b.end - a.end);
  // Overlapping ranges become one.
  const merged: typeof rawRanges = [];
  for (const range of rawRanges) {
    const last = merged[merged.length - 1];
    if (last && range.start < last.end) last.end = Math.max(last.end, range.end);
    else merged.push({ ...range });
  }
  let pieces: typeof merged = merged;
  if (json) {
    const strings = literals(raw);
    pieces = [];
    for (const range of merged) {
      for (const [start, end] of strings) {
        if (end <= range.start || start >= range.end) continue;
        pieces.push({ ...range, start: Math.max(start, range.start), end: Math.min(end, range.end) });
      }
    }
  }
  let out = raw;
  for (let k = pieces.length - 1; k >= 0; k--) {
    const piece = pieces[k];
    out = `${out.slice(0, piece.start)}${piece.replacement ?? marker(piece.kind)}${out.slice(piece.end)}`;
  }
  return out;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
