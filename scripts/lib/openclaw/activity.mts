// When a conversation file was last active, from its content (never its mtime: git checkout resets mtimes).
// Reads the file as a stream, one line at a time, so transcripts of hundreds of MB take constant memory.
// The newest of each line's entry `timestamp` (ISO string) and `message.timestamp` (epoch ms) wins.
// Unparseable lines (a partial last line, crash debris, a literal `undefined`) are skipped and counted.
import { createReadStream } from "node:fs";

export interface Activity {
  /** Newest timestamp found in the file, epoch ms; undefined when no line carried one. */
  newest?: number;
  /** Lines that were not JSON (blank lines are not counted). */
  malformed: number;
  /** 1-based line numbers of the first few malformed lines, for the report. */
  malformedLines: number[];
  /** Lines read, blank lines included. */
  lines: number;
  bytes: number;
}

const NEWLINE = 0x0a;
const MAX_EXAMPLES = 5;

/** Epoch ms from an ISO string or an epoch number (seconds are not used by OpenClaw: numbers are ms). */
export function toEpochMs(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value > 0 ? value : undefined;
  if (typeof value === "string" && value !== "") {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/** The newest activity timestamp of one parsed transcript line, if it has one. */
export function lineTimestamp(entry: unknown): number | undefined {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) return undefined;
  const record = entry as { timestamp?: unknown; message?: { timestamp?: unknown } };
  const own = toEpochMs(record.timestamp);
  const message =
    record.message !== null && typeof record.message === "object"
      ? toEpochMs(record.message.timestamp)
      : undefined;
  if (own === undefined) return message;
  if (message === undefined) return own;
  return Math.max(own, message);
}

export async function readActivity(path: string): Promise<Activity> {
  const result: Activity = { malformed: 0, malformedLines: [], lines: 0, bytes: 0 };
  const take = (line: Buffer) => {
    result.lines++;
    let end = line.length;
    if (end > 0 && line[end - 1] === 0x0d) end--;
    const text = line.toString("utf8", 0, end);
    if (text.trim() === "") return;
    let entry: unknown;
    try {
      entry = JSON.parse(text);
    } catch {
      result.malformed++;
      if (result.malformedLines.length < MAX_EXAMPLES) result.malformedLines.push(result.lines);
      return;
    }
    const ts = lineTimestamp(entry);
    if (ts !== undefined && (result.newest === undefined || ts > result.newest)) result.newest = ts;
  };
  let pending: Buffer[] = [];
  for await (const chunk of createReadStream(path)) {
    const buffer = chunk as Buffer;
    result.bytes += buffer.length;
    let start = 0;
    let at = buffer.indexOf(NEWLINE, start);
    while (at !== -1) {
      const piece = buffer.subarray(start, at);
      if (pending.length) {
        pending.push(piece);
        take(Buffer.concat(pending));
        pending = [];
      } else {
        take(piece);
      }
      start = at + 1;
      at = buffer.indexOf(NEWLINE, start);
    }
    if (start < buffer.length) pending.push(buffer.subarray(start));
  }
  if (pending.length) take(Buffer.concat(pending));
  return result;
}
