// Stage 1½, ask the day's questions in one call: before discovery, the calls this run will most likely make
// before any data travels — discovery, the incremental listing (with a .syncignore: the bot's index and names
// instead), the workspace look-up — are foreseen from the last sync's record (same state dir, agent and era; the
// listing's arguments from the provenance, as transfer makes them) and sent to the bot as one bundle
// (remote/bundle.mts). The stages after it call as they always do; a call whose program and arguments match a
// bundled one gets the bundle's answer, any other call (the bot changed era, the listing a .syncignore's
// exclusions shape, another agent asked for) goes to the bot on its own. So a wrong guess costs one read-only
// listing on the bot, never a wrong result, and an idle day is one connection instead of three.
import { ERAS } from "../openclaw/era.mts";
import { remoteFilterArgs } from "../openclaw/files.mts";
import { INDEX_FILE } from "../openclaw/sessions-index.mts";
import { knownFromProvenance } from "../openclaw/known.mts";
import type { RemoteCall } from "../remote/bundle.mts";
import type { Transport } from "../remote/transport.mts";
import { workspaceFactsCall } from "../remote/workspace.mts";
import { readProvenance } from "../store/provenance.mts";
import { loadSyncIgnore } from "../store/syncignore.mts";
import { discoveryCall } from "./discover.mts";
import { listingArgs } from "./transfer.mts";
import { indexCall, namesCall } from "./plan-transfer.mts";
import type { SyncOptions } from "./types.mts";

/** The calls foreseen for this run, discovery first. */
export async function foreseenCalls(
  memoryDir: string,
  options: Pick<SyncOptions, "stateDir" | "agent" | "dryRun" | "workspace">,
): Promise<RemoteCall[]> {
  const calls = [discoveryCall(options.stateDir)];
  // A provenance or .syncignore that cannot be read is said by the stages that need them.
  const provenance = await readProvenance(memoryDir).catch(() => undefined);
  const last = provenance?.lastSync;
  if (!provenance || !last || (options.agent !== undefined && options.agent !== last.agent)) return calls;
  const where = { stateDir: last.stateDir, agentId: last.agent };
  const era = ERAS.find((e) => e.era === last.era);
  const rules = await loadSyncIgnore(memoryDir).catch(() => undefined);
  // With a .syncignore (or a stored index it filtered) the transfer first reads the bot's index and its names,
  // foreseen here; the listing after them depends on what they say, so it is asked on its own.
  const patterns = Boolean(rules && rules.patterns.length);
  const filtered = patterns || Boolean(provenance.files[INDEX_FILE]?.excludedKeys);
  if (era && filtered) {
    calls.push(indexCall(era, where));
    if (patterns) calls.push(namesCall(era, where));
  } else if (era) {
    const args = era.args(where.stateDir, where.agentId, remoteFilterArgs());
    if (options.dryRun) calls.push({ program: era.program, args: ["manifest", ...args] });
    else if (era.incremental && Object.keys(provenance.files).length) {
      const known = era.listing === "known" ? knownFromProvenance(provenance) : undefined;
      calls.push({ program: era.program, args: ["manifest", ...listingArgs(era, args, known)] });
    }
  }
  if (options.workspace !== false)
    calls.push(workspaceFactsCall({ ...where, candidate: provenance.workspace?.path }));
  return calls;
}

/** Sends the foreseen calls as one bundle; the later stages' calls take their answers from it. Returns how
 * many were answered. */
export async function prefetch(
  transport: Transport,
  memoryDir: string,
  options: SyncOptions,
): Promise<number> {
  const calls = await foreseenCalls(memoryDir, options);
  // Alone, discovery is no cheaper bundled, unless its connection is already open (preconnect).
  if (calls.length < 2 && !transport.preconnected) {
    transport.cancelEarly();
    return 0;
  }
  return transport.prefetch(calls, { label: "discovery", idleTimeoutMs: options.timeoutSeconds * 1000 });
}
