// What each file in an OpenClaw sessions folder is (file era; docs/naming.md lists which release writes which name).
// The one place that knows the naming rules: sync, prune and verify all classify through here.

export type FileKind =
  | "index" // sessions.json
  | "index-backup" // sessions.json.bak.<epochMs>
  | "transcript" // <sessionId>.jsonl, <sessionId>-topic-<thread>.jsonl, <ISO>_<uuid>.jsonl
  | "archive" // <transcript>.jsonl.reset|deleted|bak.<ts>[.<32 hex>][.zst] (hex and .zst since 2026.7.2, docs/naming.md)
  | "sidecar" // checkpoints, trajectories, acp streams: not conversations
  | "lock" // writer locks: transient
  | "temp" // atomic-write temporaries: transient
  | "repair-backup" // *.bak-<pid>-<ms> copies kept by the malformed-line repair
  | "unknown"; // none of the above: backed up anyway and named in a warning (fail safe, not fail silent)

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
  /** The 32-hex nonce newer releases add after the timestamp (`.deleted.<ts>.<hex>`), when present. */
  archiveNonce?: string;
  /** An archive OpenClaw wrote zstd-compressed (its name ends in `.zst`): its lines are inside the frame. */
  compressed?: "zstd";
}

export const SESSION_ID = /^[a-z0-9][a-z0-9._-]{0,127}$/i;
const ARCHIVE_TS = String.raw`\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d{3})?Z`;
// OpenClaw's own ARCHIVE_SUFFIX_RE (2026.8.1+): `<ts>` optionally followed by `.<32 hex>`, then `.zst` when the
// archive is zstd-compressed (SESSION_ARCHIVE_ZSTD_SUFFIX, stripped before that regex by OpenClaw itself).
const ARCHIVE = new RegExp(
  String.raw`^(.+\.jsonl)\.(reset|deleted|bak)\.(${ARCHIVE_TS})(?:\.([0-9a-f]{32}))?(\.zst)?$`,
);
const FORK =
  /^(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:-\d{3})?Z)_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

export function classify(name: string): SessionFile {
  if (name === "sessions.json") return { name, kind: "index" };
  const excluded = EXCLUDE_RULES.find((rule) => globRegExp(rule.pattern).test(name));
  if (excluded) return { name, kind: excluded.kind };
  if (/^sessions\.json\.bak\.\d+$/.test(name)) return { name, kind: "index-backup" };
  const archive = ARCHIVE.exec(name);
  if (archive) {
    const base = parseTranscriptName(archive[1]);
    if (!base) return { name, kind: "unknown" };
    const info: SessionFile = {
      ...base,
      name,
      kind: "archive",
      archive: archive[2] as ArchiveReason,
      archivedAt: archive[3],
    };
    if (archive[4]) info.archiveNonce = archive[4];
    if (archive[5]) info.compressed = "zstd";
    return info;
  }
  const transcript = parseTranscriptName(name);
  if (transcript) return transcript;
  return { name, kind: "unknown" };
}

const globCache = new Map<string, RegExp>();
/** A shell `case` pattern (`*`, `?`, `[...]` without negation) as a RegExp over the whole name. */
export function globRegExp(pattern: string): RegExp {
  let re = globCache.get(pattern);
  if (!re) {
    let body = "";
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i];
      const end = c === "[" ? pattern.indexOf("]", i + 2) : -1;
      if (c === "*") body += ".*";
      else if (c === "?") body += ".";
      else if (end > 0) {
        body += `[${pattern.slice(i + 1, end).replace(/\\/g, "\\\\")}]`;
        i = end;
      } else body += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
    re = new RegExp(`^${body}$`, "s");
    globCache.set(pattern, re);
  }
  return re;
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

/** Kinds a backup keeps: the index, its old backups, transcripts and their archives, and anything unknown. */
export const BACKED_UP: ReadonlySet<FileKind> = new Set([
  "index",
  "index-backup",
  "transcript",
  "archive",
  "unknown",
]);

/** Kinds that hold conversation lines (JSONL). */
export function isConversation(kind: FileKind): boolean {
  return kind === "transcript" || kind === "archive";
}

/**
 * The documented rules that keep a file out of the backup, as shell `case` patterns: the remote programs
 * (pull.sh, export-sqlite.mjs, discover.sh) receive them as arguments and never send a matching file; everything
 * else in the sessions folder is sent, and the local side classifies every received name again. Each pattern
 * matches exactly the names classify() gives the kind named beside it.
 */
export const EXCLUDE_RULES: readonly { pattern: string; kind: FileKind; why: string }[] = [
  { pattern: "*.lock", kind: "lock", why: "writer locks, held only while OpenClaw writes" },
  { pattern: "*.tmp", kind: "temp", why: "atomic-write temporaries, renamed over their target" },
  { pattern: "*.jsonl.bak-[0-9]*", kind: "repair-backup", why: "copies the malformed-line repair keeps" },
  {
    pattern: "*.checkpoint.????????-????-????-????-????????????.jsonl",
    kind: "sidecar",
    why: "compaction checkpoints (model context)",
  },
  { pattern: "*.trajectory.jsonl", kind: "sidecar", why: "trajectory sidecars (run traces)" },
  { pattern: "*.trajectory-path.json", kind: "sidecar", why: "trajectory path pointers" },
  { pattern: "*.acp-stream.jsonl", kind: "sidecar", why: "ACP stream logs" },
];
export const REMOTE_EXCLUDE: readonly string[] = EXCLUDE_RULES.map((rule) => rule.pattern);
/** Everything not excluded is sent: an unknown name is backed up and warned about, never dropped. */
export const REMOTE_INCLUDE: readonly string[] = ["*"];

/** The include/exclude lists as the remote programs take them: `-PATTERN`... then `+PATTERN`... */
export function remoteFilterArgs(): string[] {
  return [...REMOTE_EXCLUDE.map((p) => `-${p}`), ...REMOTE_INCLUDE.map((p) => `+${p}`)];
}
