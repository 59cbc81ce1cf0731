// Stage 8, record: the provenance of this run (per file: what the backup holds, what the cloud had, when it was
// synced, what was held back or redacted), and whether it differs from the last one.
import { INDEX_FILE } from "../openclaw/sessions-index.mts";
import { excludeFromProvenance, type StoredExclusion } from "../store/exclude.mts";
import { serializeProvenance, type FileRecord, type Provenance } from "../store/provenance.mts";
import { join } from "node:path";
import { gitBlobId } from "../store/content.mts";
import type { Plan } from "./check.mts";

export interface Recorded {
  /** The provenance's `files` after this run. */
  records: Record<string, FileRecord>;
  /** Keys prune removed that stay out (those whose entries changed in the cloud are back). */
  prunedKeys: Provenance["prunedKeys"];
  /** Whether the provenance file must be written (something changed, or its records did). */
  changed: boolean;
  /** What the bot sent that continuity merged into other files (Provenance.consumed). */
  consumed?: Provenance["consumed"];
}

export async function record(
  plan: Plan,
  provenance: Provenance | undefined,
  at: string,
  options: {
    /** Index keys .syncignore left out of this run's sessions.json. */
    keys?: number;
    /** What .syncignore removes from what memory/ already holds (sync/exclude-stored.mts). */
    stored?: StoredExclusion;
    sessionsDir?: string;
    dryRun?: boolean;
    consumed?: Provenance["consumed"];
  } = {},
): Promise<Recorded> {
  let records = buildRecords(plan, provenance, at);
  let prunedKeys = { ...provenance?.prunedKeys };
  for (const key of plan.revivedKeys) delete prunedKeys[key];
  let consumed = options.consumed && Object.keys(options.consumed).length ? options.consumed : undefined;
  // .syncignore: what memory/ no longer holds is forgotten; index copies filtered in place are re-hashed.
  if (options.stored) {
    const after = excludeFromProvenance(
      { format: 1, lastSync: {} as never, files: records, prunedKeys, consumed },
      options.stored,
    );
    records = after.files;
    prunedKeys = after.prunedKeys ?? {};
    consumed = after.consumed && Object.keys(after.consumed).length ? after.consumed : undefined;
  }
  const index = records[INDEX_FILE];
  if (index && plan.cloud.has(INDEX_FILE)) {
    if (options.keys) records[INDEX_FILE] = { ...index, excludedKeys: options.keys };
    else delete index.excludedKeys;
  }
  const changed =
    plan.changes.some((c) => c.change === "new" || c.change === "updated") ||
    Boolean(options.stored) ||
    !provenance ||
    recordsDiffer(provenance, records, prunedKeys, consumed);
  // Only when the provenance is written anyway (see recordsDiffer).
  if (changed && options.sessionsDir && !options.dryRun) await addBlobIds(records, plan, options.sessionsDir);
  return { records, prunedKeys, changed, consumed };
}

export function buildRecords(
  plan: Plan,
  provenance: Provenance | undefined,
  at: string,
): Record<string, FileRecord> {
  const records: Record<string, FileRecord> = {};
  for (const [name, record] of Object.entries(provenance?.files ?? {}))
    records[name] = { ...record, inCloud: false };
  for (const change of plan.changes) {
    const cloud = plan.cloud.get(change.name)!;
    const old = provenance?.files[change.name];
    if (change.change === "pruned-unchanged") {
      records[change.name] = { ...old!, inCloud: true };
      if (cloud.file.quick) records[change.name].quick = cloud.file.quick;
      continue;
    }
    const record: FileRecord = {
      size: cloud.size,
      sha256: cloud.sha256,
      cloudSize: cloud.file.size,
      cloudSha256: cloud.file.sha256,
      syncedAt: change.change === "unchanged" && old ? old.syncedAt : at,
    };
    if (cloud.file.remoteName !== undefined) {
      record.remoteName = cloud.file.remoteName;
      if (cloud.file.rawName) record.remoteNameHex = cloud.file.rawName.toString("hex");
      // A name kept from an earlier sync keeps the reason it was first given.
      const reason = old?.remoteName === cloud.file.remoteName ? old?.nameReason : undefined;
      if (reason ?? cloud.file.nameReason) record.nameReason = reason ?? cloud.file.nameReason;
    }
    if (cloud.heldBackBytes) record.heldBackBytes = cloud.heldBackBytes;
    if (cloud.redactions) record.redactions = cloud.redactions;
    if (cloud.file.quick) record.quick = cloud.file.quick;
    if (cloud.file.exportedAs !== undefined) record.exportedAs = cloud.file.exportedAs;
    // A copy this side made is in the backup only, from the run that made it on.
    if (cloud.file.keptLocally) record.inCloud = false;
    // The stored bytes did not change: git's blob id of them neither.
    if (change.change === "unchanged" && old?.gitBlob && old.sha256 === record.sha256)
      record.gitBlob = old.gitBlob;
    records[change.name] = record;
  }
  for (const record of Object.values(records)) if (record.inCloud !== false) delete record.inCloud;
  return records;
}

/**
 * Git's blob id of what is stored, for each file this run writes (from its staged bytes) and each unchanged one
 * that has none yet (read once), so that later runs can take a file git says is unchanged as intact unread.
 */
async function addBlobIds(
  records: Record<string, FileRecord>,
  plan: Plan,
  sessionsDir: string,
): Promise<void> {
  const staged = new Map(plan.staged.map((s) => [s.name, s.path]));
  for (const change of plan.changes) {
    const record = records[change.name];
    if (!record || change.change === "pruned-unchanged") continue;
    const path =
      staged.get(change.name) ?? (change.change === "unchanged" ? join(sessionsDir, change.name) : undefined);
    if (!path || (record.gitBlob && !staged.has(change.name))) continue;
    record.gitBlob = await gitBlobId(path).catch(() => undefined);
    if (record.gitBlob === undefined) delete record.gitBlob;
  }
}

export function recordsDiffer(
  provenance: Provenance,
  records: Record<string, FileRecord>,
  prunedKeys: Provenance["prunedKeys"],
  consumed?: Provenance["consumed"],
): boolean {
  // Caches alone (quick-check stamps, git blob ids) are no reason to write the file: a run that changed nothing
  // leaves it untouched; they are saved with the next real change (until then the next run reads a bit more).
  const bare = (files: Record<string, FileRecord>) =>
    Object.fromEntries(
      Object.entries(files).map(([name, { quick: _quick, gitBlob: _blob, ...rest }]) => [name, rest]),
    );
  const a = serializeProvenance({ ...provenance, files: bare(provenance.files) });
  const b = serializeProvenance({ ...provenance, files: bare(records), prunedKeys, consumed });
  return a !== b;
}
