// What goes into OUT's sessions folder (local-state): a copy of every conversation in the memory folder, the
// cloud's index with every sessionFile rewritten to a bare file name, and an index entry for each conversation
// the index no longer names (older transcripts, .reset/.deleted/.bak archives), so that a gateway lists them all.
// A SQLite-era build keys transcripts by session id: copies that would share one get their own id, written
// into their header line and file name.
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { copyFile, readFile, readdir, writeFile } from "node:fs/promises";
import { HAS_ZSTD, NO_ZSTD, decompressFile } from "../zstd.mts";
import { basename, dirname, join } from "node:path";
import { Failure } from "../cli.mts";
import { readActivity, timeFromName } from "../openclaw/activity.mts";
import { classify, type SessionFile } from "../openclaw/files.mts";
import { INDEX_FILE, parseIndex, sessionFileName } from "../openclaw/sessions-index.mts";
import { readProvenance } from "../store/provenance.mts";

export type Entry = Record<string, unknown> & { sessionId?: string; sessionFile?: string; updatedAt?: number };

export interface SessionReport {
  key: string;
  sessionId: string;
  /** Its transcript's name in OUT's sessions folder. */
  file: string;
  /** The file in the memory folder it was copied from (none for a session kept from the local gateway). */
  source?: string;
  /** "index": from the cloud's sessions.json; "history": an entry added for a conversation the index no
   * longer names; "local": kept from the local gateway by --refresh. */
  origin: "index" | "history" | "local";
}

export interface Copy {
  source: string;
  headerId?: string;
  /** A zstd-compressed archive (copied decompressed). */
  compressed?: boolean;
}

export interface Plan {
  /** name in OUT's sessions folder → source path in memory/, and the session id to write into the copy's
   * header when it differs from the original's. */
  copies: Map<string, Copy>;
  index: Record<string, Entry>;
  sessions: SessionReport[];
  warnings: string[];
}

/** Decides what goes into OUT's sessions folder: copies, the rewritten index, and entries for the rest. */
export async function planSessions(memorySessions: string, agent: string): Promise<Plan> {
  const names = (await readdir(memorySessions)).sort();
  const copies = new Map<string, Copy>();
  const warnings: string[] = [];
  const sessions: SessionReport[] = [];
  const present = new Set(names);
  let cloudIndex: Record<string, Entry> = {};
  if (present.has(INDEX_FILE)) {
    try {
      cloudIndex = parseIndex(await readFile(join(memorySessions, INDEX_FILE), "utf8")) as Record<
        string,
        Entry
      >;
    } catch (error) {
      throw new Failure(
        `${join(memorySessions, INDEX_FILE)} is not a readable session index (${(error as Error).message}).`,
      );
    }
  }

  // 1. The cloud's index, with bare file names. Entries sharing a session id across different transcripts
  //    (a SQLite-era build keys transcripts by session id and would import only one) get their own ids.
  const index: Record<string, Entry> = {};
  const referenced = new Set<string>();
  const usedIds = new Set<string>();
  for (const [key, value] of Object.entries(cloudIndex)) {
    if (!value || typeof value !== "object" || typeof value.sessionId !== "string") {
      warnings.push(`index entry ${key} has no session id; left out`);
      continue;
    }
    const entry: Entry = { ...value };
    let file: string | undefined;
    if (typeof entry.sessionFile === "string") file = sessionFileName(entry.sessionFile.trim());
    if (
      (!file || !present.has(file)) &&
      present.has(`${entry.sessionId}.jsonl`) &&
      !file?.includes("-topic-")
    )
      file = `${entry.sessionId}.jsonl`;
    if (file && present.has(file) && classify(file).kind === "transcript") {
      entry.sessionFile = file;
      referenced.add(file);
      copies.set(file, { source: join(memorySessions, file) });
    } else {
      if (file) entry.sessionFile = file;
      warnings.push(
        `index entry ${key} names a transcript that is not in the memory folder (${file ?? `${entry.sessionId}.jsonl`})`,
      );
    }
    index[key] = entry;
  }
  // Session ids: the entry whose file is `<sessionId>.jsonl` (or the first) keeps its id.
  const keys = Object.keys(index).sort((a, b) => {
    const own = (k: string) => (index[k].sessionFile === `${index[k].sessionId}.jsonl` ? 0 : 1);
    return own(a) - own(b);
  });
  const fileOfId = new Map<string, string | undefined>();
  for (const key of keys) {
    const entry = index[key];
    const id = entry.sessionId as string;
    if (fileOfId.has(id) && fileOfId.get(id) !== entry.sessionFile) {
      // A SQLite-era build takes a transcript's identity from its header and its file name: the copy gets
      // the new id in both (`<id>.jsonl`, or `<id>-topic-<thread>.jsonl` for a topic).
      const newId = derivedId(`${agent}/${entry.sessionFile ?? key}`);
      entry.sessionId = newId;
      const old = entry.sessionFile;
      if (old && copies.has(old)) {
        const topic = /-topic-(.+)\.jsonl$/.exec(old);
        const file = topic ? `${newId}-topic-${topic[1]}.jsonl` : `${newId}.jsonl`;
        copies.set(file, { source: copies.get(old)!.source, headerId: newId });
        copies.delete(old);
        entry.sessionFile = file;
      }
    } else fileOfId.set(id, entry.sessionFile);
    usedIds.add(entry.sessionId as string);
    const source = entry.sessionFile ? copies.get(entry.sessionFile)?.source : undefined;
    sessions.push({
      key,
      sessionId: entry.sessionId as string,
      file: entry.sessionFile ?? "",
      source: source ? basename(source) : undefined,
      origin: "index",
    });
  }

  // 2. Every other conversation: transcripts the index no longer names, and archives (copied under a
  //    transcript name, because a gateway reads only transcripts). Each gets an index entry.
  // A file stored under an escaped name (store/names.mts) is classified and labelled by its name on the bot, and
  // gets a fresh id and file name here (its own name cannot be held by this filesystem).
  const provenance = await readProvenance(dirname(memorySessions)).catch(() => undefined);
  for (const name of names) {
    const botName = provenance?.files[name]?.remoteName ?? name;
    const renamed = botName !== name;
    const info = classify(botName);
    if (info.kind !== "transcript" && info.kind !== "archive") continue;
    if (referenced.has(name)) continue;
    const path = join(memorySessions, name);
    const compressed = info.compressed === "zstd";
    if (compressed && !HAS_ZSTD) {
      warnings.push(`${name} is zstd-compressed and ${NO_ZSTD}: left out of the local state; run with a newer Node`);
      continue;
    }
    const stem = (info.transcript ?? botName).replace(/\.jsonl$/, "");
    let key = `agent:${agent}:history:${stem}`;
    if (info.kind === "archive")
      key = `agent:${agent}:history:${info.archive}:${stem}:${info.archivedAt}${info.archiveNonce ? `:${info.archiveNonce}` : ""}`;
    key = key.toLowerCase();
    // An unindexed transcript keeps its name and id when no other entry uses the id; an archive, or a
    // transcript whose id is taken, becomes `<new id>.jsonl` with that id in its header.
    let file = name;
    let sessionId =
      info.kind === "transcript" && info.sessionId && !renamed && !usedIds.has(info.sessionId)
        ? info.sessionId
        : undefined;
    let headerId: string | undefined;
    if (!sessionId) {
      sessionId = derivedId(`${agent}/${name}`);
      while (usedIds.has(sessionId)) sessionId = derivedId(`${sessionId}/again`);
      file =
        info.topic !== undefined && !renamed
          ? `${sessionId}-topic-${stem.slice(stem.indexOf("-topic-") + 7)}.jsonl`
          : `${sessionId}.jsonl`;
      headerId = sessionId;
    }
    usedIds.add(sessionId);
    const updatedAt = await updatedAtOf(path, info);
    const label =
      info.kind === "archive"
        ? `${info.archive} archive ${info.archivedAt} of ${stem}`
        : `synced transcript ${stem}`;
    index[key] = { sessionId, updatedAt, sessionFile: file, label, displayName: label, chatType: "direct" };
    copies.set(file, { source: path, headerId, ...(compressed ? { compressed } : {}) });
    sessions.push({ key, sessionId, file, source: name, origin: "history" });
  }
  return { copies, index, sessions, warnings };
}

/** Copies a transcript, setting the `id` of its `session` header line (when it has one) to `id`. */
async function copyWithHeaderId(source: string, target: string, id: string, compressed = false): Promise<void> {
  // A gateway reads plain JSONL: a zstd-compressed archive is copied decompressed.
  const bytes = compressed ? await decompressFile(source) : await readFile(source);
  const end = bytes.indexOf(10);
  const first = bytes.subarray(0, end < 0 ? bytes.length : end).toString("utf8");
  let header: Record<string, unknown> | undefined;
  try {
    header = JSON.parse(first) as Record<string, unknown>;
  } catch {
    header = undefined;
  }
  if (!header || header.type !== "session") {
    await writeFile(target, bytes, { flag: "wx" });
    return;
  }
  header.id = id;
  const rest = end < 0 ? Buffer.alloc(0) : bytes.subarray(end);
  await writeFile(target, Buffer.concat([Buffer.from(JSON.stringify(header)), rest]), { flag: "wx" });
}

/** Copies every planned file into `dir` (real copies, never links into memory/: the gateway appends to and
 * rewrites them); returns name → sha256 of what was written. */
export async function writeCopies(plan: Plan, dir: string): Promise<Record<string, string>> {
  const written: Record<string, string> = {};
  for (const [name, copy] of plan.copies) {
    if (copy.headerId) await copyWithHeaderId(copy.source, join(dir, name), copy.headerId, copy.compressed);
    else await copyFile(copy.source, join(dir, name), constants.COPYFILE_EXCL);
    written[name] = await sha256(join(dir, name));
  }
  return written;
}

/** A conversation file's `updatedAt` for the index: its newest timestamp (the shared activity reader), else the
 * time in an archive's or fork's name, else 0 (unknown). Never its mtime. */
export async function updatedAtOf(path: string, info: SessionFile = classify(basename(path))): Promise<number> {
  return (await readActivity(path, { compressed: info.compressed === "zstd" })).newest ?? timeFromName(info.archivedAt ?? info.forkedAt) ?? 0;
}

/** A session id shaped like a UUID, derived from a name, so rebuilds give the same ids. */
export function derivedId(seed: string): string {
  const hex = createHash("sha256").update(seed).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export async function sha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

