// sessions.json, the session index OpenClaw keeps per agent (and the backup keeps in memory/sessions/): an object
// keyed by session key, each entry with a `sessionId`, an `updatedAt` and usually a `sessionFile`. This module
// owns reading and writing it, the entry → transcript-file rule and how keys nest (topics, threads).
import { basename } from "node:path";

export const INDEX_FILE = "sessions.json";

/** The fields of an entry the tools look at; everything else is kept as it is. */
export interface IndexEntry {
  sessionId?: unknown;
  sessionFile?: unknown;
  updatedAt?: unknown;
  [field: string]: unknown;
}

export type SessionIndex = Record<string, IndexEntry>;

/** Why a text is not a session index: not JSON at all, or JSON that is not an object. */
export class IndexParseError extends Error {
  constructor(
    readonly kind: "json" | "shape",
    message: string,
  ) {
    super(message);
  }
}

/** Parses sessions.json; throws an IndexParseError (message: JSON's own, or "not an object"). */
export function parseIndex(text: string): SessionIndex {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new IndexParseError("json", (error as Error).message);
  }
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw new IndexParseError("shape", "not an object");
  return value as SessionIndex;
}

/** sessions.json as OpenClaw writes it (two-space indentation, no trailing newline). */
export function serializeIndex(index: SessionIndex): string {
  return JSON.stringify(index, null, 2);
}

/** The base name of an entry's `sessionFile` (absolute or relative, either slash); undefined when unset. */
export function sessionFileName(sessionFile: unknown): string | undefined {
  if (typeof sessionFile !== "string" || sessionFile === "") return undefined;
  return basename(sessionFile.replace(/\\/g, "/"));
}

/** The transcript file name an index entry points at: `sessionFile`'s base name, else `<sessionId>.jsonl`. */
export function transcriptOf(entry: IndexEntry): string | undefined {
  const named = sessionFileName(entry.sessionFile);
  if (named !== undefined) return named;
  if (typeof entry.sessionId === "string" && entry.sessionId !== "") return `${entry.sessionId}.jsonl`;
  return undefined;
}

/**
 * A key and the keys it belongs to, innermost first: `<group>:topic:<n>` and `<parent>:thread:<id>` belong to
 * `<group>` / `<parent>` (`agent:main:telegram:group:-100:topic:7` → itself, then `agent:main:telegram:group:-100`).
 */
export function keyAndParents(sessionKey: string): string[] {
  const keys = [sessionKey];
  let key = sessionKey;
  for (;;) {
    const at = Math.max(key.lastIndexOf(":topic:"), key.lastIndexOf(":thread:"));
    if (at <= 0) return keys;
    key = key.slice(0, at);
    keys.push(key);
  }
}
