// What a restore puts into a bot, decided locally from the backup (memory/sessions) and what the bot already has,
// before anything is sent. Pure functions: every decision carries its reason, so --dry-run can list exactly what
// a real run does. Rules (issue 14; the OpenClaw facts behind them are in docs/restore.md):
//   * nothing on the bot is overwritten or removed: a file it has with the same bytes is skipped, one that
//     continues the backup's copy is skipped, a different one stays and the backup's copy goes beside it under a
//     new name (a `restore-displaced` index key points at it);
//   * an index key the bot uses for another session keeps the bot's session (default) or, with --prefer backup,
//     the backup's, the other moving to `agent:<id>:restore-displaced:<sessionId>`; no updatedAt goes backwards;
//   * file era: transcripts and archives keep their names, sessions.json is merged with bare sessionFile names;
//   * SQLite era: only sessions the database lacks; topics, archives and unindexed transcripts get their own
//     session ids and index entries (OpenClaw's importer keys a transcript by its id), conflicting keys renamed;
//   * workspace files (MEMORY.md, memory/*.md, …): one the bot lacks is added, one with the same bytes skipped,
//     one with other bytes stays current and the backup's copy goes beside it as `<name>.restore-displaced-<hash>`
//     (--prefer backup: the bot's copy moves to that name, the backup's takes its place).
import { createHash } from "node:crypto";
import { classify, isConversation } from "../openclaw/files.mts";
import { transcriptOf } from "../openclaw/sessions-index.mts";

export type Era = "files" | "sqlite";
export type Entry = Record<string, unknown> & {
  sessionId?: string;
  sessionFile?: string;
  updatedAt?: number;
};
export type Index = Record<string, Entry>;

export interface BackupFile {
  /** The file's name on the bot (the provenance's `remoteName` when the backup stores it under an escaped name). */
  name: string;
  /** The bot's bytes of the name, when they are not UTF-8 (`name` is then their %XX escape). */
  rawName?: Buffer;
  /** The name under <memory>/sessions/, when it differs from `name`. */
  localName?: string;
  path: string;
  size: number;
  sha256: string;
  /** Epoch ms of the newest timestamp inside (for --since), when known. */
  lastActivity?: number;
}

export interface BotFile {
  name: string;
  size: number;
  sha256: string;
}

export interface Selection {
  /** --sessions: keys or session ids (a key also selects its topics and threads). */
  sessions?: string[];
  /** --since: epoch ms. */
  since?: number;
}

export interface PlanInput {
  era: Era;
  agent: string;
  prefer: "bot" | "backup";
  backup: { index: Index; files: BackupFile[] };
  bot: {
    index: Index;
    /** File era: the bot's session files; SQLite era: the files its database exports to. */
    files: Map<string, BotFile>;
    /** File era: sha256 of the bot's first <backup size> bytes of a file, where asked (see prefixRequests). */
    prefixes?: Map<string, string>;
    /** SQLite era: session ids the database holds. */
    sessionIds?: Set<string>;
    /** SQLite era: backup files whose every line (a `session` header aside) the database already holds. */
    covered?: Set<string>;
  };
  select?: Selection;
}

export interface FileAction {
  /** The backup's file name. */
  name: string;
  action: "add" | "skip" | "rename";
  /** The name it gets on the bot (add, rename). */
  target?: string;
  /** The session id written into the copy's `session` header line, when the copy gets a new id. */
  headerId?: string;
  reason: string;
  size: number;
}

export interface KeyAction {
  key: string;
  action: "add" | "skip" | "rename" | "displace";
  /** The key the entry is written under (rename), or where the bot's own entry moved (displace). */
  target?: string;
  sessionId?: string;
  reason: string;
}

export interface RestorePlan {
  era: Era;
  files: FileAction[];
  keys: KeyAction[];
  /** File era: the merged sessions.json (undefined when unchanged). SQLite era: the index handed to the importer. */
  index?: Index;
  /** The files the bundle carries: target name → backup file and header id. */
  send: { target: string; source: BackupFile; headerId?: string }[];
  /** Backup files left out by --sessions / --since. */
  unselected: number;
}

export const displacedKey = (agent: string, sessionId: string) =>
  `agent:${agent}:restore-displaced:${sessionId}`.toLowerCase();

/** How a SQLite-era build stores a key: lowercase, `agent:<id>:` in front of a bare key (`cron:…`). */
export const canonicalKey = (agent: string, key: string) =>
  (key.toLowerCase().startsWith("agent:") ? key : `agent:${agent}:${key}`).toLowerCase();

/** A session id shaped like a UUID, derived from a name, so that a second restore picks the same one. */
export function derivedId(seed: string): string {
  const hex = createHash("sha256").update(seed).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The transcript an index entry names, as a bare file name. */
export const entryFile = (entry: Entry): string | undefined => transcriptOf(entry);

/** A name for `name` under a new session id, keeping its topic and archive parts. */
function renamed(name: string, id: string): string {
  const info = classify(name);
  const stem = (info.transcript ?? name).replace(/\.jsonl$/, "");
  const topic = info.topic !== undefined ? stem.slice(stem.indexOf("-topic-")) : "";
  const suffix = info.kind === "archive" ? name.slice((info.transcript ?? "").length) : "";
  return `${id}${topic}.jsonl${suffix}`;
}

/** Which backup files and keys --sessions / --since choose (everything without them). */
export function selectBackup(
  backup: PlanInput["backup"],
  select: Selection | undefined,
): { files: Set<string>; keys: Set<string> } {
  const allFiles = backup.files.map((f) => f.name);
  const allKeys = Object.keys(backup.index);
  if (!select?.sessions?.length && select?.since === undefined)
    return { files: new Set(allFiles), keys: new Set(allKeys) };
  const keys = new Set<string>();
  const ids = new Set<string>();
  const wanted = (select.sessions ?? []).map((s) => s.toLowerCase());
  for (const key of allKeys) {
    const entry = backup.index[key];
    const lower = key.toLowerCase();
    const id = String(entry.sessionId ?? "").toLowerCase();
    const byName = !wanted.length || wanted.some((w) => lower === w || lower.startsWith(`${w}:`) || id === w);
    const bySince =
      select.since === undefined ||
      (typeof entry.updatedAt === "number" && entry.updatedAt >= select.since) ||
      backup.files.some(
        (f) => f.name === entryFile(entry) && f.lastActivity !== undefined && f.lastActivity >= select.since!,
      );
    if (byName && bySince) {
      keys.add(key);
      if (id) ids.add(id);
    }
  }
  const files = new Set<string>();
  const fileOfKey = new Set([...keys].map((k) => entryFile(backup.index[k])));
  for (const file of backup.files) {
    const info = classify(file.name);
    if (info.kind === "index-backup") {
      if (!wanted.length && (select.since === undefined || (file.lastActivity ?? 0) >= select.since))
        files.add(file.name);
      continue;
    }
    const id = info.sessionId?.toLowerCase();
    const byName =
      !wanted.length ||
      fileOfKey.has(info.transcript) ||
      (id !== undefined && (ids.has(id) || wanted.includes(id)));
    const bySince =
      select.since === undefined || (file.lastActivity !== undefined && file.lastActivity >= select.since);
    if (byName && bySince) files.add(file.name);
  }
  return { files, keys };
}

/** File era: conflicts where the bot's copy is longer may be the backup's copy continued; ask for those hashes. */
export function prefixRequests(backup: BackupFile[], bot: Map<string, BotFile>): string[] {
  const requests: string[] = [];
  for (const file of backup) {
    const there = bot.get(file.name);
    if (
      there &&
      there.sha256 !== file.sha256 &&
      there.size > file.size &&
      isConversation(classify(file.name).kind)
    )
      requests.push(`${file.name}:${file.size}`);
  }
  return requests;
}

export function planRestore(input: PlanInput): RestorePlan {
  return input.era === "files" ? planFileEra(input) : planSqliteEra(input);
}

function planFileEra(input: PlanInput): RestorePlan {
  const { agent, backup, bot } = input;
  const chosen = selectBackup(backup, input.select);
  const files: FileAction[] = [];
  const send: RestorePlan["send"] = [];
  const renames = new Map<string, { target: string; id: string }>();
  const taken = new Set(bot.files.keys());
  for (const file of backup.files) {
    if (!chosen.files.has(file.name)) continue;
    const info = classify(file.name);
    const there = bot.files.get(file.name);
    const base = { name: file.name, size: file.size };
    if (!there) {
      files.push({ ...base, action: "add", target: file.name, reason: "the bot does not have it" });
      send.push({ target: file.name, source: file });
      taken.add(file.name);
      continue;
    }
    if (there.sha256 === file.sha256) {
      files.push({ ...base, action: "skip", reason: "the bot has the same bytes" });
      continue;
    }
    if (bot.prefixes?.get(file.name) === file.sha256) {
      files.push({ ...base, action: "skip", reason: "the bot's copy holds all of it and continues it" });
      continue;
    }
    if (info.kind === "index-backup") {
      files.push({
        ...base,
        action: "skip",
        reason: "the bot has a different index copy of this name; kept",
      });
      continue;
    }
    // Different bytes under the same name: the bot's stays; the backup's goes beside it under a new id.
    let id = derivedId(`${agent}/${file.name}/${file.sha256}`);
    let target = renamed(file.name, id);
    while (taken.has(target) && bot.files.get(target)?.sha256 !== file.sha256) {
      id = derivedId(`${id}/again`);
      target = renamed(file.name, id);
    }
    renames.set(file.name, { target, id });
    if (bot.files.get(target)?.sha256 === file.sha256) {
      files.push({
        ...base,
        action: "skip",
        target,
        reason: `restored earlier beside the bot's copy as ${target}`,
      });
      continue;
    }
    taken.add(target);
    // The backup's transcript keeps its bytes: the index entry names the file; the header keeps the old id.
    files.push({
      ...base,
      action: "rename",
      target,
      reason: "the bot has different bytes under this name (kept); the backup's copy goes beside it",
    });
    send.push({ target, source: file });
  }

  // sessions.json: the bot's entries stay as they are; the backup's are added with bare file names.
  const merged: Index = structuredClone(bot.index);
  const keys: KeyAction[] = [];
  const botKeys = new Map(Object.keys(bot.index).map((k) => [k.toLowerCase(), k]));
  for (const [key, entry] of Object.entries(backup.index)) {
    if (!chosen.keys.has(key) || !entry || typeof entry.sessionId !== "string") continue;
    const file = entryFile(entry);
    const move = file ? renames.get(file) : undefined;
    const next: Entry = { ...entry };
    if (move) {
      next.sessionFile = move.target;
      next.sessionId = move.id;
    } else if (typeof entry.sessionFile === "string" && file) next.sessionFile = file;
    const sessionId = next.sessionId as string;
    const botKey = botKeys.get(key.toLowerCase());
    const mine = botKey !== undefined ? bot.index[botKey] : undefined;
    if (!mine) {
      merged[key] = next;
      keys.push({ key, action: "add", sessionId, reason: "the bot does not have this key" });
      continue;
    }
    if (mine.sessionId === sessionId) {
      keys.push({ key, action: "skip", sessionId, reason: "the bot has this session under this key" });
      continue;
    }
    const existing = Object.entries(merged).find(
      ([k, e]) => k.toLowerCase() !== key.toLowerCase() && e?.sessionId === sessionId,
    );
    if (existing) {
      keys.push({ key, action: "skip", sessionId, reason: `the bot lists this session as ${existing[0]}` });
      continue;
    }
    if (input.prefer === "bot") {
      const target = displacedKey(agent, sessionId);
      merged[target] = next;
      keys.push({
        key,
        action: "rename",
        target,
        sessionId,
        reason: `the bot uses this key for its own session ${String(mine.sessionId)} (kept as current)`,
      });
    } else {
      const target = displacedKey(agent, String(mine.sessionId));
      merged[target] = mine;
      const updatedAt = Math.max(Number(next.updatedAt ?? 0), Number(mine.updatedAt ?? 0));
      merged[botKey!] = { ...next, updatedAt };
      keys.push({
        key,
        action: "displace",
        target,
        sessionId,
        reason: `--prefer backup: the bot's own session ${String(mine.sessionId)} moves to ${target}`,
      });
    }
  }
  const changed = JSON.stringify(merged) !== JSON.stringify(bot.index);
  return {
    era: "files",
    files,
    keys,
    index: changed ? merged : undefined,
    send,
    unselected: backup.files.length - chosen.files.size,
  };
}

function planSqliteEra(input: PlanInput): RestorePlan {
  const { agent, backup, bot } = input;
  const chosen = selectBackup(backup, input.select);
  const present = new Map(backup.files.map((f) => [f.name, f]));
  const ids = bot.sessionIds ?? new Set<string>();
  const botKeys = new Map(Object.keys(bot.index).map((k) => [canonicalKey(agent, k), k]));
  const files: FileAction[] = [];
  const keys: KeyAction[] = [];
  const send: RestorePlan["send"] = [];
  const index: Index = {};
  const handled = new Set<string>();
  const usedIds = new Set<string>();
  const fileOfId = new Map<string, string>();

  // 1. The backup's index entries, the entry whose file is `<sessionId>.jsonl` first (it keeps its id).
  const entries = Object.entries(backup.index)
    .filter(([key, entry]) => chosen.keys.has(key) && entry && typeof entry.sessionId === "string")
    .sort(([, a], [, b]) => {
      const own = (e: Entry) => (entryFile(e) === `${e.sessionId}.jsonl` ? 0 : 1);
      return own(a) - own(b);
    });
  const add = (key: string, entry: Entry, file: BackupFile, reason: string) => {
    let id = String(entry.sessionId);
    let target = file.name;
    let headerId: string | undefined;
    const info = classify(file.name);
    const ownName = info.kind === "transcript" && info.topic === undefined && info.sessionId === id;
    if (!ownName || (fileOfId.has(id) && fileOfId.get(id) !== file.name)) {
      // A topic, archive or second transcript under one id: its own id, in its name and header.
      id = derivedId(`${agent}/${file.name}`);
      target = renamed(file.name, id).replace(/\.jsonl\..*$/, ".jsonl");
      headerId = id;
    }
    handled.add(file.name);
    const base = { name: file.name, size: file.size };
    if (ids.has(id.toLowerCase()) || usedIds.has(id)) {
      if (bot.covered?.has(file.name) || usedIds.has(id)) {
        const reason = `the bot's database already has session ${id} with these lines`;
        files.push({ ...base, action: "skip", reason });
        keys.push({ key, action: "skip", sessionId: id, reason });
        return;
      }
      // The database has another session under this id: importing would append to it. A session of its own.
      id = derivedId(`${agent}/${file.name}/${file.sha256}`);
      target = renamed(file.name, id).replace(/\.jsonl\..*$/, ".jsonl");
      headerId = id;
      if (ids.has(id.toLowerCase())) {
        const reason = `restored earlier as session ${id}`;
        files.push({ ...base, action: "skip", reason });
        keys.push({ key, action: "skip", sessionId: id, reason });
        return;
      }
    }
    fileOfId.set(id, file.name);
    usedIds.add(id);
    let writeKey = key;
    const botKey = botKeys.get(canonicalKey(agent, key));
    if (botKey !== undefined) {
      if (input.prefer === "bot") {
        writeKey = displacedKey(agent, id);
        keys.push({
          key,
          action: "rename",
          target: writeKey,
          sessionId: id,
          reason: `the bot uses this key for its own session ${String(bot.index[botKey].sessionId)} (kept as current)`,
        });
      } else {
        const mine = bot.index[botKey];
        const moved = displacedKey(agent, String(mine.sessionId));
        index[moved] = { ...mine };
        entry = { ...entry, updatedAt: Math.max(Number(entry.updatedAt ?? 0), Number(mine.updatedAt ?? 0)) };
        keys.push({
          key,
          action: "displace",
          target: moved,
          sessionId: id,
          reason: `--prefer backup: the bot's own session ${String(mine.sessionId)} moves to ${moved}`,
        });
      }
    } else keys.push({ key, action: "add", sessionId: id, reason });
    index[writeKey] = { ...entry, sessionId: id, sessionFile: target };
    files.push({
      ...base,
      action: target === file.name ? "add" : "rename",
      target,
      headerId,
      reason: target === file.name ? "the bot's database lacks it" : `imported as its own session ${id}`,
    });
    send.push({ target, source: file, headerId });
  };

  for (const [key, entry] of entries) {
    const name = entryFile(entry);
    const file = name ? present.get(name) : undefined;
    if (!file || !chosen.files.has(file.name)) {
      keys.push({ key, action: "skip", sessionId: entry.sessionId, reason: "no transcript in the backup" });
      continue;
    }
    if (handled.has(file.name)) continue;
    add(key, { ...entry }, file, "the bot's database lacks this session");
  }

  // 2. Every other conversation: transcripts the index no longer names and archives, each with an entry.
  for (const file of backup.files) {
    const info = classify(file.name);
    if (!isConversation(info.kind) || handled.has(file.name) || !chosen.files.has(file.name)) {
      if (info.kind === "index-backup" && chosen.files.has(file.name))
        files.push({
          name: file.name,
          action: "skip",
          size: file.size,
          reason: "an old index copy; OpenClaw's importer would leave it in sessions/",
        });
      continue;
    }
    const stem = (info.transcript ?? file.name).replace(/\.jsonl$/, "");
    const key = (
      info.kind === "archive"
        ? `agent:${agent}:history:${info.archive}:${stem}:${info.archivedAt}`
        : `agent:${agent}:history:${stem}`
    ).toLowerCase();
    const label =
      info.kind === "archive"
        ? `${info.archive} archive ${info.archivedAt} of ${stem}`
        : `restored transcript ${stem}`;
    const sessionId =
      info.kind === "transcript" && info.topic === undefined && info.sessionId ? info.sessionId : "";
    add(
      key,
      {
        sessionId: sessionId || derivedId(`${agent}/${file.name}`),
        updatedAt: file.lastActivity ?? 0,
        label,
        displayName: label,
        chatType: "direct",
      },
      file,
      info.kind === "archive" ? "an archive, imported as a session of its own" : "a transcript no key names",
    );
  }
  return {
    era: "sqlite",
    files,
    keys,
    index: send.length ? index : undefined,
    send,
    unselected: backup.files.length - chosen.files.size,
  };
}

/** A workspace file of the backup (<memory>/workspace/<path>). */
export interface WorkspaceFile {
  /** The path inside the workspace: `MEMORY.md`, `memory/2026-11-30.md`. */
  path: string;
  /** Where the backup holds it. */
  source: string;
  size: number;
  sha256: string;
}

export interface WorkspaceAction {
  path: string;
  action: "add" | "skip" | "beside" | "displace";
  /** beside: the name the backup's copy gets; displace: the name the bot's own copy moves to. */
  target?: string;
  reason: string;
  size: number;
}

export interface WorkspacePlan {
  files: WorkspaceAction[];
  /** What the bundle carries: the backup's file, the name it is written under, and (displace) where the bot's
   * copy moves and the bytes it must still have. */
  send: { target: string; source: WorkspaceFile; displace?: { to: string; sha256: string } }[];
}

export const displacedName = (path: string, sha256: string) =>
  `${path}.restore-displaced-${sha256.slice(0, 8)}`;

/** Workspace files: never overwritten; a differing one keeps its place (or, --prefer backup, moves aside). */
export function planWorkspace(
  backup: WorkspaceFile[],
  bot: Map<string, BotFile>,
  prefer: "bot" | "backup",
): WorkspacePlan {
  const files: WorkspaceAction[] = [];
  const send: WorkspacePlan["send"] = [];
  for (const file of backup) {
    const base = { path: file.path, size: file.size };
    const there = bot.get(file.path);
    if (!there) {
      files.push({ ...base, action: "add", target: file.path, reason: "the bot does not have it" });
      send.push({ target: file.path, source: file });
      continue;
    }
    if (there.sha256 === file.sha256) {
      files.push({ ...base, action: "skip", reason: "the bot has the same bytes" });
      continue;
    }
    if (prefer === "bot") {
      const target = displacedName(file.path, file.sha256);
      if (bot.get(target)?.sha256 === file.sha256) {
        files.push({
          ...base,
          action: "skip",
          target,
          reason: `the bot has its own ${file.path} (kept); the backup's copy was put beside it as ${target} earlier`,
        });
        continue;
      }
      files.push({
        ...base,
        action: "beside",
        target,
        reason: `the bot has its own ${file.path} (kept, not overwritten); the backup's copy goes beside it as ${target} (compare them; --prefer backup makes the backup's current)`,
      });
      send.push({ target, source: file });
      continue;
    }
    const target = displacedName(file.path, there.sha256);
    files.push({
      ...base,
      action: "displace",
      target,
      reason: `--prefer backup: the bot's own ${file.path} moves to ${target}, the backup's takes its place`,
    });
    send.push({ target: file.path, source: file, displace: { to: target, sha256: there.sha256 } });
  }
  return { files, send };
}
