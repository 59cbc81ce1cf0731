// What each file in an OpenClaw sessions folder is (file era; see shared/reference/openclaw-storage.md).
// The one place that knows the naming rules: sync, prune and verify all classify through here.

export type FileKind =
  | "index" // sessions.json
  | "index-backup" // sessions.json.bak.<epochMs>
  | "transcript" // <sessionId>.jsonl, <sessionId>-topic-<thread>.jsonl, <ISO>_<uuid>.jsonl
  | "archive" // <transcript>.jsonl.reset|deleted|bak.<ts>
  | "sidecar" // checkpoints, trajectories, acp streams: not conversations
  | "lock" // writer locks: transient
  | "temp" // atomic-write temporaries: transient
  | "repair-backup" // *.bak-<pid>-<ms> copies kept by the malformed-line repair
  | "unknown";

export type ArchiveReason = "reset" | "deleted" | "bak";

export interface SessionFile {
  name: string;
  kind: FileKind;
  /** For transcripts and archives: the transcript's file name without any archive suffix (`<base>.jsonl`). */
  transcript?: string;
  /** The session id the file belongs to (for a topic, the parent session's id; for a fork, the fork's uuid). */
  sessionId?: string;
  /** Thread id of a topic transcript, decoded. */
  topic?: string;
  /** The forked session's creation time, from `<ISO>_<uuid>.jsonl`. */
  forkedAt?: string;
  archive?: ArchiveReason;
  /** The archive's timestamp as written in the name (`2026-04-07T02-04-55.264Z`). */
  archivedAt?: string;
}

export const SESSION_ID = /^[a-z0-9][a-z0-9._-]{0,127}$/i;
const ARCHIVE_TS = String.raw`\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d{3})?Z`;
const ARCHIVE = new RegExp(String.raw`^(.+\.jsonl)\.(reset|deleted|bak)\.(${ARCHIVE_TS})$`);
const FORK =
  /^(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:-\d{3})?Z)_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;
const SIDECAR = [
  /\.checkpoint\.[0-9a-f-]{8,}\.jsonl$/i,
  /\.trajectory\.jsonl$/,
  /\.trajectory-path\.json$/,
  /\.acp-stream\.jsonl$/,
];

export function classify(name: string): SessionFile {
  if (name === "sessions.json") return { name, kind: "index" };
  if (name.endsWith(".lock")) return { name, kind: "lock" };
  if (name.endsWith(".tmp")) return { name, kind: "temp" };
  if (/^sessions\.json\.bak\.\d+$/.test(name)) return { name, kind: "index-backup" };
  if (/\.bak-\d+-\d+$/.test(name)) return { name, kind: "repair-backup" };
  if (SIDECAR.some((re) => re.test(name))) return { name, kind: "sidecar" };
  const archive = ARCHIVE.exec(name);
  if (archive) {
    const base = parseTranscriptName(archive[1]);
    if (!base) return { name, kind: "unknown" };
    return { ...base, name, kind: "archive", archive: archive[2] as ArchiveReason, archivedAt: archive[3] };
  }
  const transcript = parseTranscriptName(name);
  if (transcript) return transcript;
  return { name, kind: "unknown" };
}

function parseTranscriptName(name: string): SessionFile | undefined {
  if (!name.endsWith(".jsonl")) return undefined;
  const stem = name.slice(0, -".jsonl".length);
  const fork = FORK.exec(stem);
  if (fork) return { name, kind: "transcript", transcript: name, sessionId: fork[2], forkedAt: fork[1] };
  const topicAt = stem.indexOf("-topic-");
  if (topicAt > 0) {
    const sessionId = stem.slice(0, topicAt);
    const raw = stem.slice(topicAt + "-topic-".length);
    if (!SESSION_ID.test(sessionId) || raw === "") return undefined;
    let topic = raw;
    try {
      topic = decodeURIComponent(raw);
    } catch {
      // a malformed escape is still a topic transcript; keep the raw id
    }
    return { name, kind: "transcript", transcript: name, sessionId, topic };
  }
  if (!SESSION_ID.test(stem)) return undefined;
  return { name, kind: "transcript", transcript: name, sessionId: stem };
}

/** Kinds a backup keeps: the index, its old backups, transcripts and their archives. */
export const BACKED_UP: ReadonlySet<FileKind> = new Set(["index", "index-backup", "transcript", "archive"]);

/** Kinds that hold conversation lines (JSONL). */
export function isConversation(kind: FileKind): boolean {
  return kind === "transcript" || kind === "archive";
}

/**
 * Shell `case` patterns the remote program uses to choose files before anything is sent. They mirror
 * classify(): excludes first, then includes. The local side classifies every received name again.
 */
export const REMOTE_EXCLUDE = [
  "*.lock",
  "*.tmp",
  "*.checkpoint.*.jsonl",
  "*.trajectory.jsonl",
  "*.trajectory-path.json",
  "*.acp-stream.jsonl",
  "*.bak-*",
];
export const REMOTE_INCLUDE = [
  "sessions.json",
  "sessions.json.bak.*",
  "*.jsonl",
  "*.jsonl.reset.*",
  "*.jsonl.deleted.*",
  "*.jsonl.bak.*",
];
