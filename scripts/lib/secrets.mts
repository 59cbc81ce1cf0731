// Secret detection and redaction for transcript lines, with secretlint's recommended rule preset
// (@secretlint/secretlint-rule-preset-recommend): the rules run in-process and offline, driven directly and
// synchronously (no secretlint core, no config files, no network). Two rules are left out: filter-comments
// (a chat message saying "secretlint-disable" must not switch detection off) and gcp (it only judges whole
// `.json`/`.p12` files; a service-account key pasted into a chat is caught by the private-key rule).
//
// Speed: the rules are ~30 regular expressions; running them on every line would cost several times more than
// parsing the line. A literal prefilter (`hasCandidate`) looks for the fixed parts every rule's pattern needs
// (`ghp_`, `sk-`, `-----BEGIN`, `://…@`, …) and only lines that contain one meet the rules. The prefilter is a
// superset of the rules by construction; test/secrets.test.mts checks it against every rule.
//
// Nothing here ever returns or prints a secret's text: callers get kinds (secretlint message ids such as
// GITHUB_TOKEN) and line numbers; redaction replaces each value with `[REDACTED:<kind>]`.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { rules as presetRules } from "@secretlint/secretlint-rule-preset-recommend";
import { windowEnd } from "./jsonl.mts";

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

const LEFT_OUT = new Set(["@secretlint/secretlint-rule-filter-comments", "@secretlint/secretlint-rule-gcp"]);
const RULES = (presetRules as unknown as RuleCreator[]).filter((rule) => !LEFT_OUT.has(rule.meta.id));

/** The rules that apply, by secretlint id, with the kinds each reports. */
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

  /** Secrets in one JSONL line: the raw text, and (when it has escapes) each decoded string inside it. */
  private find(line: string, parsed?: unknown): Finding[] {
    if (!hasCandidate(line)) return [];
    const found = this.runRules(line);
    if (line.includes("\\")) {
      let value = parsed;
      if (value === undefined) {
        try {
          value = JSON.parse(line);
        } catch {
          value = undefined;
        }
      }
      if (value !== undefined) {
        for (const text of strings(value)) {
          if (!hasCandidate(text)) continue;
          for (const finding of this.runRules(text)) {
            const encoded = JSON.stringify(finding.value).slice(1, -1);
            const duplicate = found.some(
              (f) => f.value.includes(encoded) || encoded.includes(f.value) || f.value === finding.value,
            );
            if (!duplicate) found.push({ ...finding, start: -1, end: -1 });
          }
        }
      }
    }
    return dedupe(found);
  }

  /** Kinds of the secrets in a line (one entry per secret), for verify. */
  scanLine(line: string): string[] {
    return this.find(line).map((finding) => finding.kind);
  }

  /**
   * Replaces each secret in a JSONL line (without its "\n") by `[REDACTED:<kind>]`. A line that was valid JSON
   * stays valid JSON; a line without secrets comes back as the same string.
   */
  redactLine(line: string): { text: string; kinds: string[] } {
    const found = this.find(line);
    if (found.length === 0) return { text: line, kinds: [] };
    const kinds = found.map((finding) => finding.kind);
    let wasJson = true;
    let original: unknown;
    try {
      original = JSON.parse(line);
    } catch {
      wasJson = false;
    }
    let text = replaceInRaw(line, found);
    if (wasJson && !parses(text)) text = JSON.stringify(this.redactValue(original, found));
    // Belt and braces: whatever the rules still see is cut out of the raw text.
    for (let round = 0; round < 2; round++) {
      const left = this.find(text).filter((finding) => finding.start >= 0);
      if (left.length === 0) break;
      const next = replaceInRaw(text, left);
      if (wasJson && !parses(next)) break;
      text = next;
    }
    return { text, kinds };
  }

  /** The same value with secrets replaced inside every string (keys included). */
  private redactValue(value: unknown, known: Finding[]): unknown {
    const decodedKnown = known
      .map((finding) => ({ kind: finding.kind, value: decodeJsonString(finding.value) }))
      .filter((entry) => entry.value.length >= 8);
    const fix = (text: string): string => {
      let out = text;
      if (hasCandidate(out)) out = replaceInRaw(out, this.runRules(out));
      for (const entry of decodedKnown)
        if (out.includes(entry.value)) out = out.split(entry.value).join(marker(entry.kind));
      return out;
    };
    const walk = (node: unknown): unknown => {
      if (typeof node === "string") return fix(node);
      if (Array.isArray(node)) return node.map(walk);
      if (node && typeof node === "object") {
        const result: Record<string, unknown> = {};
        for (const [key, child] of Object.entries(node)) result[fix(key)] = walk(child);
        return result;
      }
      return node;
    };
    return walk(value);
  }
}

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
//              and `_authToken` (npm)
//   '-' after  sk (openai, anthropic) glpat xox[bpaor] xapp (slack) tskey x (x-oauth-basic); `-----BEGIN`
//   `SG.` (sendgrid), `hvs.` `hvb.` `hvr.` (vault)
//   `://` followed by `user:password@` or hooks.slack.com (basic auth, database URLs, slack webhooks)
//   `dapi` (databricks), `key`/`Key`/`KEY` after secret_access in the three spellings (aws secret access key)
// Each native indexOf restarts at every occurrence of its needle's first character, so a needle is searched by a
// part that starts with a rarer character (`//` for `://`, `pi` for `dapi`, `hv` and `SG.` rather than `.`,
// `key` and `K` rather than `ccess`).

const UNDERSCORE_PREFIX =
  /(?:sk|rk|gh[pousr]|github|glc|glsa|npm|gsk|hf|lin|ntn|shp(?:pa|ca|at|ss)|ops|vc[piark]|dckr|figd|cfk|cfut|cfat)$/;
const DASH_PREFIX = /(?:sk|glpat|xox[bpaor]|xapp|tskey)$/;
const URL_CREDENTIALS = /:\/\/(?:[^\s/@]{1,100}:[^\s/@]{1,256}@|hooks\.slack\.com\/)/iy;
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

/** Whether a text contains something a rule could match. */
export function hasCandidate(text: string): boolean {
  return nextCandidate(text, 0) >= 0;
}

type Gate = (text: string, from: number) => number;

const GATES: Gate[] = [
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
];

/**
 * The position of the first candidate at or after `from` (approximately: within the right line), or -1.
 * `cache` (one slot per gate, reused across calls on the same text with growing `from`) avoids rescanning.
 */
export function nextCandidate(text: string, from: number, cache?: number[]): number {
  let best = -1;
  for (let g = 0; g < GATES.length; g++) {
    let at: number;
    const known = cache?.[g];
    if (known !== undefined && (known === -1 || known >= from)) at = known;
    else {
      at = GATES[g](text, from);
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

/** Replaces each finding's text in `text`: by range where known, otherwise every JSON-encoded occurrence. */
function replaceInRaw(text: string, found: Finding[]): string {
  let out = text;
  const ranged = found
    .filter((f) => f.start >= 0 && out.slice(f.start, f.end) === f.value)
    .sort((a, b) => b.start - a.start);
  let floor = Infinity;
  for (const finding of ranged) {
    if (finding.end > floor) continue; // overlaps a later replacement already made
    out = `${out.slice(0, finding.start)}${marker(finding.kind)}${out.slice(finding.end)}`;
    floor = finding.start;
  }
  for (const finding of found) {
    if (ranged.includes(finding)) continue;
    const encoded = JSON.stringify(finding.value).slice(1, -1);
    if (out.includes(encoded)) out = out.split(encoded).join(marker(finding.kind));
    else if (out.includes(finding.value)) out = out.split(finding.value).join(marker(finding.kind));
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

function decodeJsonString(raw: string): string {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

function* strings(value: unknown): Generator<string> {
  if (typeof value === "string") yield value;
  else if (Array.isArray(value)) for (const item of value) yield* strings(item);
  else if (value && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) {
      yield key;
      yield* strings(child);
    }
  }
}
