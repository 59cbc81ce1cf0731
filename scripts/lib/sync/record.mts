// Stage 8, record: the provenance of this run (per file: what the backup holds, what the cloud had, when it was
// synced, what was held back or redacted), and whether it differs from the last one.
import { serializeProvenance, type FileRecord, type Provenance } from "../store/provenance.mts";
import type { Plan } from "./check.mts";

export interface Recorded {
  /** The provenance's `files` after this run. */
  records: Record<string, FileRecord>;
  /** Keys prune removed that stay out (those whose entries changed in the cloud are back). */
  prunedKeys: Provenance["prunedKeys"];
  /** Whether the provenance file must be written (something changed, or its records did). */
  changed: boolean;
}

export function record(plan: Plan, provenance: Provenance | undefined, at: string): Recorded {
  const records = buildRecords(plan, provenance, at);
  const prunedKeys = { ...provenance?.prunedKeys };
  for (const key of plan.revivedKeys) delete prunedKeys[key];
  const changed =
    plan.changes.some((c) => c.change === "new" || c.change === "updated") ||
    !provenance ||
    recordsDiffer(provenance, records, prunedKeys);
  return { records, prunedKeys, changed };
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
    records[change.name] = record;
  }
  for (const record of Object.values(records)) if (record.inCloud !== false) delete record.inCloud;
  return records;
}

export function recordsDiffer(
  provenance: Provenance,
  records: Record<string, FileRecord>,
  prunedKeys: Provenance["prunedKeys"],
): boolean {
  const a = serializeProvenance({ ...provenance, files: provenance.files });
  const b = serializeProvenance({ ...provenance, files: records, prunedKeys });
  return a !== b;
}
