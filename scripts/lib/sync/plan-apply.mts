// Stage 9, plan the apply: the run's summary (counts, bytes, warnings) and the ordered renames that bring the
// staged files into memory/: conversations, then sessions.json, then the provenance file last.
import { join } from "node:path";
import { INDEX_FILE } from "../openclaw/sessions-index.mts";
import type { StreamResult } from "../remote/stream.mts";
import type { Change } from "../store/apply.mts";
import { PROVENANCE_FILE, SESSIONS_DIR, type Provenance, type SyncSource } from "../store/provenance.mts";
import type { Plan } from "./check.mts";
import type { Recorded } from "./record.mts";
import type { StoredExcluded } from "./exclude-stored.mts";
import type { SyncSummary } from "./types.mts";

export interface ApplyPlan {
  summary: SyncSummary;
  /** The provenance file to write, and the renames in order; undefined when nothing changes (or a dry run). */
  write?: { provenance: Provenance; steps: (stagedProvenance: string) => Change[] };
}

export function planApply(
  plan: Plan,
  { records, prunedKeys, consumed, changed: provenanceWritten }: Recorded,
  result: StreamResult,
  context: {
    source: SyncSource;
    memoryDir: string;
    excluded: { keys: number; files: number };
    /** .syncignore applied to what memory/ holds. */
    stored?: StoredExcluded;
    incremental: boolean;
    dryRun: boolean;
  },
): ApplyPlan {
  const { source, dryRun } = context;
  const changed = plan.changes.filter((c) => c.change === "new" || c.change === "updated");
  const count = (change: string) => plan.changes.filter((c) => c.change === change).length;
  const summary: SyncSummary = {
    ok: true,
    dryRun,
    source,
    memory: context.memoryDir,
    files: {
      new: count("new"),
      updated: count("updated"),
      unchanged: count("unchanged"),
      skippedPruned: count("pruned-unchanged"),
      onlyLocal: Object.entries(records).filter(([, r]) => r.inCloud === false && !r.prunedAt).length,
      total: plan.changes.length,
    },
    bytes: {
      transferred: result.wireBytes,
      written: changed.reduce((sum, c) => sum + c.size, 0),
      cloud: result.files.reduce((sum, f) => sum + f.size, 0),
    },
    heldBack: plan.heldBack,
    redactions: plan.redactions,
    excluded: { ...context.excluded, removed: context.stored?.plan.remove.length ?? 0 },
    skipped: plan.skipped,
    skippedFiles: plan.skippedFiles,
    unknownFiles: plan.unknownFiles,
    renamed: plan.renamed,
    warnings: plan.warnings,
    changes: plan.changes,
    provenanceWritten: provenanceWritten && !dryRun,
    incremental: context.incremental,
    durationMs: 0,
  };
  if (dryRun || !provenanceWritten) return { summary };
  const ordered = [...plan.staged].sort(
    (a, b) => Number(a.name === INDEX_FILE) - Number(b.name === INDEX_FILE),
  );
  return {
    summary,
    write: {
      provenance: {
        format: 1,
        lastSync: source,
        files: records,
        prunedKeys,
        ...(consumed ? { consumed } : {}),
      },
      steps: (stagedProvenance) => [
        // What .syncignore takes out of the stored files first, then the transfer's files, the provenance last.
        ...(context.stored?.changes ?? []),
        ...ordered.map((s) => ({ target: join(SESSIONS_DIR, s.name), staged: s.path })),
        { target: PROVENANCE_FILE, staged: stagedProvenance },
      ],
    },
  };
}
