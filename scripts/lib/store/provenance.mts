// The provenance file, `<memory>/sync-provenance.json`: where the history came from and, for every file under
// `<memory>/sessions/`, what sync stored (size, sha256) and what the cloud had (cloudSize, cloudSha256: they
// differ when an unfinished last line was held back or secrets were redacted). Written only when a sync changed
// something, so an idle day leaves git with nothing to commit.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export const PROVENANCE_FILE = "sync-provenance.json";
export const SESSIONS_DIR = "sessions";

export interface FileRecord {
  size: number;
  sha256: string;
  cloudSize: number;
  cloudSha256: string;
  /** Bytes of an unfinished last line left out (the bot was mid-append). */
  heldBackBytes?: number;
  /** Secrets replaced by [REDACTED:<kind>] markers. */
  redactions?: number;
  /** sessions.json only: keys of the bot's index that .syncignore left out (the next sync re-reads the bot's
   * index even without a .syncignore, so that keys come back when their line goes). */
  excludedKeys?: number;
  syncedAt: string;
  /** Set by prune when it removed the file from the working tree; sync does not bring back a pruned file
   * whose cloud copy is unchanged (cloudSha256), only one that changed since. */
  prunedAt?: string;
  /** False once a sync no longer found the file in the cloud (kept here: absence deletes nothing). */
  inCloud?: boolean;
  /** The file's name on the bot, when it is stored under an escaped name (store/names.mts says why). */
  remoteName?: string;
  /** The bot's name as hex bytes, when they are not UTF-8 (`remoteName` is then the %XX escape). */
  remoteNameHex?: string;
  /** Why the stored name differs from the bot's. */
  nameReason?: string;
  /** The bot's "<size> <mtime> <inode>" of the file when it was read (file era): while they stay the same, the
   * file is not read again (rsync's quick check). Only recorded when the mtime was older than the listing. */
  quick?: string;
  /** Git's blob id of what is stored: while git says the work tree's file is that blob, it is intact without
   * being read. */
  gitBlob?: string;
  /** The bot's name for these bytes when the backup keeps them under another (SQLite era: the database's
   * `<id>.jsonl`, written into the file-era file the backup already had for that session; continuity.mts). */
  exportedAs?: string;
}

export interface SyncSource {
  at: string;
  transport: "fly" | "ssh" | "local";
  app?: string;
  machine?: string;
  region?: string;
  host?: string;
  stateDir: string;
  agent: string;
  openclawVersion?: string;
  versionSource?: string;
  era: "files" | "sqlite";
  layout?: string;
  flyctlVersion?: string;
  tool: string;
}

/** An index key prune removed from sessions.json: sync leaves it out while the cloud's entry is unchanged. */
export interface PrunedKey {
  /** sha256 of the entry as stored (JSON.stringify of its value), when prune removed it. */
  entrySha256: string;
  prunedAt: string;
}

/** The agent's memory files under `<memory>/workspace/` (MEMORY.md, memory/*.md, …) and where they came from. */
export interface WorkspaceRecord {
  /** The workspace folder on the bot. */
  path: string;
  /** Keyed by path inside the workspace (`MEMORY.md`, `memory/2026-11-30.md`). */
  files: Record<string, FileRecord>;
}

export interface Provenance {
  format: 1;
  lastSync: SyncSource;
  /** Keyed by file name inside `<memory>/sessions/`. */
  files: Record<string, FileRecord>;
  /** The agent's workspace files (absent in a backup taken before sync kept them). */
  workspace?: WorkspaceRecord;
  /** Keyed by sessions.json key. */
  prunedKeys?: Record<string, PrunedKey>;
  /** Keyed by the bot's file name: what the bot sent that continuity merged away (so that an incremental run
   * neither fetches it again nor takes it for a new file while it stays the same). */
  consumed?: Record<string, ConsumedFile>;
  /** SQLite era: the exporter's `I stamp` for what this record was made from (openclaw/known.mts), with the
   * digest of the exporter that made it. A cache: saved with a real change, or when none is saved or the saved
   * one no longer holds (sync/plan-apply.mts). */
  exportStamp?: { stamp: string; exporter: string };
}

/** A file the bot sends that the backup keeps no copy of because continuity merged it into another file. */
export interface ConsumedFile {
  size: number;
  sha256: string;
}

/**
 * The file's name on the bot, for a file stored under `<memory>/sessions/<local>`: the `remoteName` the provenance
 * recorded when the local name is escaped (store/names.mts), else the local name itself. Everything that reads
 * meaning from a name (classify(): kind, session id, archive time) must read this one, never the escaped name.
 */
export function botName(provenance: Provenance | undefined, local: string): string {
  const remote = provenance?.files[local]?.remoteName;
  return typeof remote === "string" && remote !== "" ? remote : local;
}

/** Bot name → local name, for the files stored under an escaped name. */
export function localByBotName(provenance: Provenance | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const [local, record] of Object.entries(provenance?.files ?? {}))
    if (typeof record.remoteName === "string" && record.remoteName !== "") map.set(record.remoteName, local);
  return map;
}

/** The hash prune records for an index entry and sync compares with. */
export function entryHash(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex");
}

export async function readProvenance(memoryDir: string): Promise<Provenance | undefined> {
  let text: string;
  try {
    text = await readFile(join(memoryDir, PROVENANCE_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const value = JSON.parse(text) as Provenance;
  if (value?.format !== 1 || typeof value.files !== "object") {
    throw new Error(`${join(memoryDir, PROVENANCE_FILE)} is not a provenance file of format 1`);
  }
  return value;
}

/** Stable, diff-friendly text: keys of `files` sorted. */
export function serializeProvenance(value: Provenance): string {
  const files: Record<string, FileRecord> = {};
  for (const name of Object.keys(value.files).sort()) files[name] = value.files[name];
  const sorted: Provenance = { ...value, files };
  if (value.prunedKeys && Object.keys(value.prunedKeys).length) {
    const keys: Record<string, PrunedKey> = {};
    for (const key of Object.keys(value.prunedKeys).sort()) keys[key] = value.prunedKeys[key];
    sorted.prunedKeys = keys;
  } else delete sorted.prunedKeys;
  if (value.consumed && Object.keys(value.consumed).length) {
    const consumed: Record<string, ConsumedFile> = {};
    for (const name of Object.keys(value.consumed).sort()) consumed[name] = value.consumed[name];
    sorted.consumed = consumed;
  } else delete sorted.consumed;
  return `${JSON.stringify(sorted, null, 2)}\n`;
}
