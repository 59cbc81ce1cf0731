// Stage 10, plan the apply: the run's summary (counts, bytes, warnings) and the ordered renames that bring the
// staged files into memory/: conversations, then sessions.json, then the workspace's memory files, then the
// provenance file (with the sessions' records and the workspace's) last — one journaled transaction.
import { join } from "node:path";
import { INDEX_FILE } from "../openclaw/sessions-index.mts";
import type { StreamResult } from "../remote/stream.mts";
import { exporterDigest } from "../openclaw/known.mts";
import type { Change } from "../store/apply.mts";
import { PROVENANCE_FILE, SESSIONS_DIR, type Provenance, type SyncSource } from "../store/provenance.mts";
import type { Plan } from "./check.mts";
import type { Recorded } from "./record.mts";
import type { StoredExcluded } from "./exclude-stored.mts";
import type { SyncSummary } from "./types.mts";
import type { WorkspaceSync } from "./workspace.mts";

export interface ApplyPlan {
  summary: SyncSummary;
  /** The provenance file to write, and the renames in order; undefined when nothing changes (or a dry run). */
  write?: { provenance: Provenance; steps: (stagedProvenance: string) => Change[] };
}

export function planApply(
  plan: Plan,
  { records, prunedKeys, consumed, changed: recordsChanged }: Recorded,
  result: StreamResult,
  workspace: WorkspaceSync,
  context: {
    source: SyncSource;
    memoryDir: string;
    excluded: { keys: number; files: number };
    /** .syncignore applied to what memory/ holds. */
    stored?: StoredExcluded;
    incremental: boolean;
    dryRun: boolean;
    /** The last sync's record. */
    provenance?: Provenance;
  },
): ApplyPlan {
  const { source, dryRun } = context;
  const changed = plan.changes.filter((c) => c.change === "new" || c.change === "updated");
  const count = (change: string) => plan.changes.filter((c) => c.change === change).length;
  const workspaceChanged = workspace.summary.changes.filter((c) => c.change !== "unchanged");
  const written = [...changed, ...workspaceChanged].reduce((sum, c) => sum + c.size, 0);
  // The exporter's stamp (openclaw/known.mts) is a cache, saved with a real change; and also when none is saved
  // or the one saved no longer held (the last change was written while the sync read, the database was
  // checkpointed, the gateway restarted): else every idle day after that would read the whole database again.
  // So the first idle day after such a day writes the provenance once; a stamp that still holds writes nothing.
  const stamp = /^[0-9a-f]{16}\.[0-9a-f]{16}$/.test(result.info.stamp ?? "") ? result.info.stamp : undefined;
  const saved = context.provenance?.exportStamp;
  const stampMoved = Boolean(
    stamp && context.provenance && (saved?.stamp !== stamp || saved?.exporter !== exporterDigest()),
  );
  const write = (recordsChanged || workspace.changed || stampMoved) && !dryRun;
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
      transferred: result.wireBytes + workspace.wireBytes,
      written,
      cloud:
        result.files.reduce((sum, f) => sum + f.size, 0) +
        workspace.summary.changes.reduce((sum, c) => sum + c.size, 0),
    },
    heldBack: plan.heldBack,
    redactions: addRedactions(plan.redactions, workspace.redactions),
    excluded: { ...context.excluded, removed: context.stored?.plan.remove.length ?? 0 },
    skipped: plan.skipped,
    skippedFiles: plan.skippedFiles,
    unknownFiles: plan.unknownFiles,
    renamed: plan.renamed,
    warnings: [...plan.warnings, ...workspace.warnings],
    changes: plan.changes,
    workspace: workspace.summary,
    provenanceWritten: write,
    incremental: context.incremental,
    durationMs: 0,
  };
  if (!write) return { summary };
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
        ...(workspace.record ? { workspace: workspace.record } : {}),
        ...(stamp ? { exportStamp: { stamp, exporter: exporterDigest() } } : {}),
      },
      steps: (stagedProvenance) => [
        // What .syncignore takes out of the stored files first, then the transfer's files, the provenance last.
        ...(context.stored?.changes ?? []),
        ...ordered.map((s) => ({ target: join(SESSIONS_DIR, s.name), staged: s.path })),
        ...workspace.steps,
        { target: PROVENANCE_FILE, staged: stagedProvenance },
      ],
    },
  };
}

function addRedactions(
  a: SyncSummary["redactions"],
  b: SyncSummary["redactions"],
): SyncSummary["redactions"] {
  const kinds = { ...a.kinds };
  for (const [kind, n] of Object.entries(b.kinds)) kinds[kind] = (kinds[kind] ?? 0) + n;
  return { total: a.total + b.total, files: a.files + b.files, kinds };
}
