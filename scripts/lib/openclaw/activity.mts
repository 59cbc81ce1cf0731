// When a conversation file was last active, from its content (never its mtime: git checkout resets mtimes).
// Reads the file as a stream through the project's one JSONL reader (../jsonl.mts), so transcripts of hundreds
// of MB take bounded memory.
// The newest of each line's entry `timestamp` (ISO string) and `message.timestamp` (epoch ms) wins.
// Unparseable lines (a partial last line, crash debris, NUL padding, invalid UTF-8, a literal `undefined`) are
// skipped and counted. A file without any timestamp may still carry one in its name (an archive's or a fork's):
// timeFromName reads it.
import { stat } from "node:fs/promises";
import { validateJsonl } from "../jsonl.mts";
import { NO_ZSTD, openContent } from "../zstd.mts";

export interface Activity {
  /** Newest timestamp found in the file, epoch ms; undefined when no line carried one. */
  newest?: number;
  /** Lines skipped because they held no JSON object (blank lines are not counted). */
  malformed: number;
  /** 1-based line numbers of (at most the first five) malformed lines, for the report. */
  malformedLines: number[];
  /** Lines read, blank lines included. */
  lines: number;
  bytes: number;
}

const MAX_EXAMPLES = 5;

/** A date and time without a zone (`2026-11-20T09:00:00`, `2026-11-20 09:00:00.123`). */
const ZONELESS = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$/;

/**
 * Epoch ms from an ISO string or an epoch number (seconds are not used by OpenClaw: numbers are ms). A time
 * without a zone is UTC, as OpenClaw writes it, never the machine's local time: a laptop and the CI runner
 * read the same history the same way.
 */
export function toEpochMs(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value > 0 ? value : undefined;
  if (typeof value === "string" && value !== "") {
    const zoneless = ZONELESS.exec(value.trim());
    const ms = Date.parse(zoneless ? `${zoneless[1]}T${zoneless[2]}Z` : value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

const TIME_IN_NAME = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})(?:[.-](\d{3}))?Z$/;

/** Epoch ms of a time written in a file name (classify()'s `archivedAt` or `forkedAt`:
 * `2026-04-07T02-04-55.264Z`, `2026-04-07T02-04-55-264Z`). */
export function timeFromName(stamp: string | undefined): number | undefined {
  const match = stamp ? TIME_IN_NAME.exec(stamp) : null;
  if (!match) return undefined;
  const ms = Date.parse(`${match[1]}T${match[2]}:${match[3]}:${match[4]}.${match[5] ?? "000"}Z`);
  return Number.isNaN(ms) ? undefined : ms;
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

/**
 * Reads a conversation file's activity. A zstd-compressed archive (`compressed`) is read through its frame; where
 * this Node has no zstd its lines stay unread (`unread` says why: the caller falls back to the name's time), and a
 * damaged frame counts as one malformed line. `bytes` is always the size of the file as stored.
 */
export async function readActivity(
  path: string,
  options: { compressed?: boolean } = {},
): Promise<Activity & { unread?: string }> {
  let newest: number | undefined;
  const content = openContent(path, options.compressed === true);
  const stored = options.compressed ? (await stat(path)).size : undefined;
  if (!content) return { malformed: 0, malformedLines: [], lines: 0, bytes: stored!, unread: NO_ZSTD };
  let summary;
  try {
    summary = await validateJsonl(content, {
      maxProblems: MAX_EXAMPLES,
      onObject: (entry) => {
        const ts = lineTimestamp(entry);
        if (ts !== undefined && (newest === undefined || ts > newest)) newest = ts;
      },
    });
  } catch (error) {
    if (!options.compressed || (error as NodeJS.ErrnoException).code === "ENOENT") throw error;
    return { newest, malformed: 1, malformedLines: [1], lines: 0, bytes: stored! };
  }
  // Without the transcript rules every error is a line that yielded no object: skipped.
  return {
    newest,
    malformed: summary.errors,
    malformedLines: summary.problems.filter((p) => p.severity === "error").map((p) => p.line),
    lines: summary.lines,
    bytes: stored ?? summary.bytes,
  };
}
