// The words of a sync: the human summary the entry script (and the demo) print at the end.
import { formatBytes, quoteName } from "../cli.mts";
import { WORKSPACE_DIR } from "../openclaw/workspace.mts";
import type { SyncSummary } from "./types.mts";
import type { WorkspaceSummary } from "./workspace.mts";

/** The human summary printed at the end of a sync. */
/** How many changed files a text dry run names (all of them are in --json). */
const DRY_RUN_LISTED = 200;

export function formatSummary(s: SyncSummary): string {
  const lines = [
    `${s.dryRun ? "Dry run: would sync" : "Synced"} agent ${s.source.agent} (OpenClaw ${s.source.openclawVersion ?? "?"}, ${s.source.era} era) into ${s.memory}`,
    `  files: ${s.files.new} new, ${s.files.updated} updated, ${s.files.unchanged} unchanged` +
      (s.files.skippedPruned ? `, ${s.files.skippedPruned} pruned earlier and unchanged` : "") +
      (s.files.onlyLocal ? `, ${s.files.onlyLocal} kept that the cloud no longer has` : ""),
    `  bytes: ${formatBytes(s.bytes.transferred)} transferred, ${formatBytes(s.bytes.written)} ${s.dryRun ? "would be " : ""}written`,
  ];
  lines.push(workspaceLine(s.workspace));
  if (s.heldBack.lines) {
    lines.push(
      `  held back: ${s.heldBack.lines} unfinished last line(s), ${s.heldBack.bytes} bytes (they arrive complete next time)`,
    );
  }
  if (s.dryRun) {
    // The same lists --json gives in "changes" and "workspace.changes": what a real run would write.
    const changing = [
      ...s.changes.filter((c) => c.change === "new" || c.change === "updated"),
      ...s.workspace.changes
        .filter((c) => c.change !== "unchanged")
        .map((c) => ({ ...c, name: `${WORKSPACE_DIR}/${c.path}` })),
    ];
    for (const change of changing.slice(0, DRY_RUN_LISTED))
      lines.push(
        `  ${change.change === "new" ? "new:    " : "updated:"} ${quoteName(change.name)} (${formatBytes(change.size)})`,
      );
    if (changing.length > DRY_RUN_LISTED)
      lines.push(`  … and ${changing.length - DRY_RUN_LISTED} more (--json lists every one)`);
  }
  if (s.redactions.total) {
    const kinds = Object.entries(s.redactions.kinds).map(([kind, n]) => `${n} ${kind}`);
    lines.push(
      `  redacted: ${s.redactions.total} secret(s) in ${s.redactions.files} file(s) (${kinds.join(", ")})`,
    );
  }
  if (s.excluded.keys || s.excluded.files || s.excluded.removed) {
    lines.push(
      `  left out by .syncignore: ${s.excluded.keys} index key(s), ${s.excluded.files} file(s) on the bot` +
        (s.excluded.removed
          ? `; ${s.dryRun ? "would remove" : "removed"} ${s.excluded.removed} file(s) already in ${s.memory}`
          : ""),
    );
  }
  if (s.unknownFiles.length) {
    lines.push(
      `  backed up as unknown kind (not a name OpenClaw is known to write): ${s.unknownFiles.map(quoteName).join(", ")}`,
    );
  }
  if (s.renamed.length) {
    lines.push(
      `  stored under an escaped name (mapping in the provenance): ${s.renamed.map((r) => `${quoteName(r.remoteName)} as ${quoteName(r.name)} (${r.reason})`).join(", ")}`,
    );
  }
  if (s.skippedFiles.length) {
    lines.push(
      `  not backed up: ${s.skippedFiles.map((f) => `${quoteName(f.name)} (${f.reason})`).join(", ")}`,
    );
  }
  if (s.warnings.length) lines.push(`  warnings: ${s.warnings.length}`);
  if (!s.dryRun && !s.provenanceWritten) lines.push("  nothing changed");
  return `${lines.join("\n")}\n`;
}

/** The agent's memory files: counts and where they are on the bot, or why they were not read. */
function workspaceLine(w: WorkspaceSummary): string {
  const where = w.path ? ` ${quoteName(w.path)}` : "";
  if (w.skipped)
    return `  workspace${where}: not read (${w.skipped})${w.onlyLocal ? `; the backup keeps its ${w.onlyLocal} file(s)` : ""}`;
  return (
    `  workspace${where}: ${w.new} new, ${w.updated} updated, ${w.unchanged} unchanged` +
    (w.onlyLocal ? `, ${w.onlyLocal} kept that the bot no longer has` : "")
  );
}
