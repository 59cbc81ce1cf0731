// Stage 10, apply: the provenance file joins the staged files, and store/apply.mts moves them all into memory/
// as one step (signals wait until it is done).
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { applyStaged } from "../store/apply.mts";
import { PROVENANCE_FILE, serializeProvenance } from "../store/provenance.mts";
import { uninterrupted } from "./interrupt.mts";
import type { ApplyPlan } from "./plan-apply.mts";

export async function apply(memoryDir: string, stagingDir: string, plan: ApplyPlan): Promise<void> {
  if (!plan.write) return;
  const provenancePath = join(stagingDir, PROVENANCE_FILE);
  await writeFile(provenancePath, serializeProvenance(plan.write.provenance), { mode: 0o644 });
  const steps = plan.write.steps(provenancePath);
  await uninterrupted(() => applyStaged(memoryDir, stagingDir, steps, { kind: "sync" }));
}
