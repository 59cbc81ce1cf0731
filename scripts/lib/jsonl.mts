// The project's JSONL validator: a streaming line reader that tracks each line's number and byte offset itself,
// keeps going after a problem, and classifies what it finds. verify checks every *.jsonl with it, and
// openclaw/activity.mts reads transcripts through it (prune, local-state). Code that only needs the bytes up to
// the last complete line (store/content.mts) or raw line text (secrets redaction, continuity) splits on "\n"
// itself; the remote exporter (remote/export-sqlite.mjs) stays a self-contained file.
//   truncated last line (no newline, not JSON)   error    the bot was mid-append, or the file was cut off
//   last line without newline (but valid JSON)   warning
//   invalid JSON in the middle                   error    corruption
//   a line that is not a JSON object             error
//   empty line                                   warning  OpenClaw's readers skip it
//   NUL bytes                                    error    crash padding
//   invalid UTF-8                                error
//   transcript header without an id              error    line 1 of type "session" must carry a string id
//   line longer than maxLineBytes                error    not loaded, so memory stays bounded
// Memory is bounded by the chunk size plus the longest line; a 1 GB file is never held whole.
import { isUtf8 } from "node:buffer";

export type Severity = "error" | "warning";

export type ProblemCode =
  | "truncated"
  | "no-final-newline"
  | "invalid-json"
  | "not-object"
  | "empty-line"
  | "nul-bytes"
  | "invalid-utf8"
  | "bad-header"
  | "line-too-long";

export interface LineProblem {
  /** 1-based line number. */
  line: number;
  /** 0-based byte offset in the file: the line's first byte, or the first offending byte for NUL and UTF-8 problems. */
  byte: number;
  severity: Severity;
  code: ProblemCode;
  message: string;
}

export interface JsonlOptions {
  /** Apply the transcript rules (line 1 of type "session" must have an id). */
  transcript?: boolean;
  /** Problems kept in `problems`; the rest are only counted. */
  maxProblems?: number;
  /** Lines longer than this are reported and skipped instead of parsed. */
  maxLineBytes?: number;
  /** Called for every line that parsed as an object. */
  onObject?: (value: Record<string, unknown>, line: number, byte: number) => void;
  /**
   * Called after each window of complete lines (buffer[from, to), about 64 KiB, see windowEnd) with its latin1
   * text, so another reader of the same chunks (the secret scan) need not decode it again.
   */
  onWindow?: (buffer: Buffer, from: number, to: number, text: string) => void;
}

/** Windows of about 64 KiB keep decoded text small enough to be collected young. */
const TEXT_WINDOW = 64 * 1024;

/** Where the window of whole lines that starts at `from` ends (buffer[from, to) ends at a line end). */
export function windowEnd(buffer: Buffer, from: number, to: number): number {
  if (to - from <= TEXT_WINDOW) return to;
  const nl = buffer.lastIndexOf(NEWLINE, from + TEXT_WINDOW - 1);
  return nl >= from ? nl + 1 : Math.min(to, buffer.indexOf(NEWLINE, from + TEXT_WINDOW) + 1 || to);
}

export interface JsonlSummary {
  lines: number;
  bytes: number;
  errors: number;
  warnings: number;
  /** Up to maxProblems, in file order. */
  problems: LineProblem[];
}

const NEWLINE = 0x0a;
const DEFAULT_MAX_LINE_BYTES = 32 * 1024 * 1024;

export class JsonlValidator {
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private skipping = false; // inside an over-long line, discarding until its newline
  private lineNo = 0; // lines completed so far
  private offset = 0; // byte offset of the next unconsumed byte (start of carry)
  private readonly maxProblems: number;
  private readonly maxLineBytes: number;
  readonly summary: JsonlSummary = { lines: 0, bytes: 0, errors: 0, warnings: 0, problems: [] };

  constructor(private readonly options: JsonlOptions = {}) {
    this.maxProblems = options.maxProblems ?? 50;
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  push(chunk: Buffer): void {
    this.summary.bytes += chunk.length;
    let from = 0; // where the complete lines of this chunk start
    if (this.skipping) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl < 0) {
        this.offset += chunk.length;
        return;
      }
      this.skipping = false;
      this.lineNo++;
      this.offset += nl + 1;
      from = nl + 1;
    } else if (this.carryBytes > 0) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl < 0) {
        this.carry.push(Buffer.from(chunk)); // copies: the caller may reuse the chunk's memory
        this.carryBytes += chunk.length;
        this.checkCarry();
        return;
      }
      // Only the line that straddles the chunk boundary is joined; the rest is checked in place.
      const line = Buffer.concat([...this.carry, chunk.subarray(0, nl + 1)]);
      this.carry = [];
      this.carryBytes = 0;
      this.lineNo++;
      this.checkLine(line, 0, line.length - 1, this.offset, line.indexOf(0) >= 0, !isUtf8(line), true);
      this.offset += line.length;
      from = nl + 1;
    }
    const base = this.offset - from; // file offset of chunk[0]
    const last = chunk.lastIndexOf(NEWLINE);
    if (last >= from) {
      const region = chunk.subarray(from, last + 1);
      const badUtf8 = !isUtf8(region);
      const hasNul = region.indexOf(0) >= 0;
      // One decode per window of lines (small strings, collected young); positions in latin1 text are byte offsets.
      let at = from;
      while (at <= last) {
        const to = windowEnd(chunk, at, last + 1);
        const text = chunk.toString("latin1", at, to);
        const stop = text.length;
        let start = 0;
        while (start < stop) {
          const end = text.indexOf("\n", start);
          this.lineNo++;
          this.checkLine(chunk, at + start, at + end, base, hasNul, badUtf8, true, text, start);
          start = end + 1;
        }
        this.options.onWindow?.(chunk, at, to, text);
        at = to;
      }
      from = last + 1;
      this.offset = base + from;
    }
    if (from < chunk.length) {
      this.carry = [Buffer.from(chunk.subarray(from))];
      this.carryBytes = chunk.length - from;
      this.checkCarry();
    }
  }

  /** Finishes the file: judges an unfinished last line. */
  end(): JsonlSummary {
    if (this.skipping) {
      this.skipping = false;
      this.lineNo++;
    } else if (this.carryBytes > 0) {
      const rest = Buffer.concat(this.carry);
      this.carry = [];
      this.carryBytes = 0;
      this.lineNo++;
      this.checkLine(rest, 0, rest.length, this.offset, rest.indexOf(0) >= 0, !isUtf8(rest), false);
    }
    this.summary.lines = this.lineNo;
    return this.summary;
  }

  /** An unfinished line longer than maxLineBytes is reported and skipped up to its newline. */
  private checkCarry(): void {
    if (this.carryBytes <= this.maxLineBytes) return;
    this.report(
      this.lineNo + 1,
      this.offset,
      "error",
      "line-too-long",
      `line longer than ${this.maxLineBytes} bytes, not checked`,
    );
    this.skipping = true;
    this.offset += this.carryBytes;
    this.carry = [];
    this.carryBytes = 0;
  }

  private checkLine(
    buf: Buffer,
    start: number,
    end: number,
    base: number,
    hasNul: boolean,
    badUtf8: boolean,
    newline: boolean,
    text?: string,
    textStart = 0,
  ): void {
    const line = this.lineNo;
    const byte = base + start;
    if (end === start) {
      this.report(line, byte, "warning", "empty-line", "empty line");
      return;
    }
    if (hasNul) {
      const nul = buf.indexOf(0, start);
      if (nul >= 0 && nul < end) {
        let onlyNul = true;
        for (let i = start; i < end; i++) {
          if (buf[i] !== 0) {
            onlyNul = false;
            break;
          }
        }
        const what = onlyNul
          ? `NUL padding (${end - start} bytes): left by a crash`
          : "NUL bytes inside the line: left by a crash";
        this.report(line, base + nul, "error", "nul-bytes", what);
        return;
      }
    }
    if (badUtf8) {
      const bad = firstInvalidUtf8(buf, start, end);
      if (bad >= 0) {
        this.report(line, base + bad, "error", "invalid-utf8", "invalid UTF-8");
        return;
      }
    }
    // The bytes are valid UTF-8 here, so JSON.parse accepts their latin1 decoding exactly when it accepts their
    // UTF-8 decoding, with the same kind of value: every byte of a multi-byte character is >= 0x80, which JSON
    // allows inside strings only, in either decoding. latin1 is decoded (and parsed) about twice as fast. The
    // values themselves are decoded as UTF-8 when someone needs them (onObject), and so is a line that failed,
    // for the parser's own message.
    let value: unknown;
    try {
      value = JSON.parse(
        this.options.onObject
          ? buf.toString("utf8", start, end)
          : text !== undefined
            ? text.slice(textStart, textStart + end - start)
            : buf.toString("latin1", start, end),
      );
    } catch (latin1Error) {
      let error = latin1Error;
      try {
        JSON.parse(buf.toString("utf8", start, end));
      } catch (utf8Error) {
        error = utf8Error;
      }
      if (!newline) {
        this.report(
          line,
          byte,
          "error",
          "truncated",
          "truncated last line: no newline and not valid JSON (still being written, or cut off)",
        );
      } else {
        this.report(
          line,
          byte,
          "error",
          "invalid-json",
          `invalid JSON (corrupted line): ${jsonReason(error)}`,
        );
      }
      return;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      const kind = value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`;
      this.report(line, byte, "error", "not-object", `not a JSON object (${kind})`);
      return;
    }
    const object = value as Record<string, unknown>;
    if (!newline)
      this.report(
        line,
        byte,
        "warning",
        "no-final-newline",
        "last line has no newline (complete JSON, but the file does not end with a newline)",
      );
    if (
      this.options.transcript &&
      line === 1 &&
      object.type === "session" &&
      (typeof object.id !== "string" || object.id === "")
    ) {
      this.report(line, byte, "error", "bad-header", 'session header without an "id"');
    }
    this.options.onObject?.(object, line, byte);
  }

  private report(line: number, byte: number, severity: Severity, code: ProblemCode, message: string): void {
    if (severity === "error") this.summary.errors++;
    else this.summary.warnings++;
    if (this.summary.problems.length < this.maxProblems)
      this.summary.problems.push({ line, byte, severity, code, message });
  }
}

/** Validates a whole stream of chunks. */
export async function validateJsonl(
  chunks: AsyncIterable<Buffer | Uint8Array>,
  options: JsonlOptions = {},
): Promise<JsonlSummary> {
  const validator = new JsonlValidator(options);
  for await (const chunk of chunks)
    validator.push(
      Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
    );
  return validator.end();
}

/** Node's JSON.parse messages differ by version; keep the gist, drop the echoed input. */
function jsonReason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const first = text.split("\n")[0].replace(/, "[^]*$/, "");
  return first.length > 120 ? `${first.slice(0, 117)}...` : first;
}

/** Offset of the first byte that starts an invalid UTF-8 sequence in buf[start, end), or -1. */
function firstInvalidUtf8(buf: Buffer, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const b = buf[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    if (i + need >= end) return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = buf[i + k];
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}
