// Stage 7b, what the backup already holds: the current .syncignore applied to memory/ itself (store/exclude.mts),
// on every run, whether or not anything changed on the bot: the files of excluded sessions leave memory/sessions/,
// their keys the index copies no transfer replaced this run, the provenance and prune's log forget them.
import { INDEX_FILE } from "../openclaw/sessions-index.mts";
import type { Change } from "../store/apply.mts";
import {
  isEmpty,
  planStoredExclusion,
  stageStoredExclusion,
  type StoredExclusion,
} from "../store/exclude.mts";
import type { Plan } from "./check.mts";
import type { TransferPlan } from "./plan-transfer.mts";

export interface StoredExcluded {
  plan: StoredExclusion;
  /** Removals and rewritten files for the apply (none for a dry run). */
  changes: Change[];
}

export async function excludeStored(
  checked: Plan,
  transferPlan: Pick<TransferPlan, "rules" | "index" | "provenance">,
  context: { memoryDir: string; stagingDir: string; dryRun: boolean },
): Promise<StoredExcluded | undefined> {
  if (!transferPlan.rules) return undefined;
  // Files this run writes anyway were filtered on arrival (check.mts), the index among them.
  const skip = new Set(checked.staged.map((staged) => staged.name));
  if (checked.cloud.has(INDEX_FILE)) skip.add(INDEX_FILE);
  const plan = await planStoredExclusion(context.memoryDir, transferPlan.rules, {
    provenance: transferPlan.provenance,
    cloudIndex: transferPlan.index?.entries,
    skip,
  });
  if (isEmpty(plan)) return undefined;
  const changes = context.dryRun
    ? []
    : await stageStoredExclusion(plan, context.memoryDir, context.stagingDir);
  return { plan, changes };
}
