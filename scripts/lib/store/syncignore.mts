// `<memory>/.syncignore`: sessions the user keeps out of the backup, in gitignore syntax (the `ignore` package).
// A pattern matches a session key (`agent:main:telegram:group:-100123`, `agent:main:discord:*`, `cron:*`) or a
// file name in the sessions folder (`<sessionId>.jsonl`, `*-topic-42.jsonl`):
//   * a key also covers its topics and threads: excluding `agent:main:telegram:group:-100123` excludes
//     `agent:main:telegram:group:-100123:topic:7` too (like a folder in .gitignore);
//   * a transcript name also covers its archives (`<id>.jsonl` excludes `<id>.jsonl.reset.<ts>`);
//   * `!pattern` re-includes, `#` starts a comment, matching is case-insensitive (errs on the side of leaving out).
// Sync never transfers an excluded file and drops excluded keys from the stored index; verify reports any that
// are committed anyway.
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import ignore from "ignore";
import { classify } from "../openclaw/files.mts";
import { keyAndParents, transcriptOf, type IndexEntry } from "../openclaw/sessions-index.mts";

export const SYNCIGNORE_FILE = ".syncignore";

export interface SyncIgnore {
  ignoresKey(sessionKey: string): boolean;
  ignoresFile(fileName: string): boolean;
  patterns: string[];
}

export async function loadSyncIgnore(memoryDir: string): Promise<SyncIgnore | undefined> {
  let text: string;
  try {
    text = await readFile(join(memoryDir, SYNCIGNORE_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return parseSyncIgnore(text);
}

export function parseSyncIgnore(text: string): SyncIgnore {
  const patterns = text
    .split(/\r?\n/)
    .map((line) => line.replace(/\s+$/, ""))
    .filter((line) => line !== "" && !line.startsWith("#"));
  const matcher = ignore({ ignorecase: true }).add(patterns);
  const test = (name: string): boolean => {
    if (name === "" || !ignore.isPathValid(name)) return false;
    try {
      return matcher.ignores(name);
    } catch {
      return false;
    }
  };
  return {
    patterns,
    ignoresKey(sessionKey: string): boolean {
      // The key itself, then the keys it belongs to (a topic's group, a thread's parent).
      return keyAndParents(sessionKey).some(test);
    },
    ignoresFile(fileName: string): boolean {
      const name = basename(fileName);
      if (test(name)) return true;
      const file = classify(name);
      return file.kind === "archive" && file.transcript !== undefined && test(file.transcript);
    },
  };
}

export interface Exclusion {
  /** Keys dropped from the index. */
  keys: string[];
  /** Whether a file (transcript or archive) is excluded: by its own name, or because its key is. */
  excludesFile(fileName: string): boolean;
}

/**
 * Applies a .syncignore to an index: drops excluded keys and tells which files go with them. A transcript
 * is excluded with its key only when no kept key points at the same file.
 */
export function applySyncIgnore(rules: SyncIgnore | undefined, index: Record<string, IndexEntry>): Exclusion {
  if (!rules) return { keys: [], excludesFile: () => false };
  const keys: string[] = [];
  const dropped = new Set<string>();
  const keptFiles = new Set<string>();
  for (const [key, entry] of Object.entries(index)) {
    const transcript = entry && typeof entry === "object" ? transcriptOf(entry) : undefined;
    if (rules.ignoresKey(key)) {
      keys.push(key);
      if (transcript) dropped.add(transcript);
    } else if (transcript) keptFiles.add(transcript);
  }
  for (const file of keptFiles) dropped.delete(file);
  return {
    keys,
    excludesFile(fileName: string): boolean {
      const name = basename(fileName);
      if (rules.ignoresFile(name)) return true;
      const file = classify(name);
      return file.transcript !== undefined && dropped.has(file.transcript);
    },
  };
}
