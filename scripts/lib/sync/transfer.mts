// Stage 6, transfer into staging: the era's program streams the files into the staging folder, every size and
// hash checked on the way (remote/stream.mts). A dry run only lists. An era that supports it, with a backup to
// compare against, transfers incrementally: a listing first, then only what changed.
import { plural, type Reporter } from "../cli.mts";
import type { EraStrategy } from "../openclaw/era.mts";
import type { StreamResult } from "../remote/stream.mts";
import type { Fetch } from "./fetch.mts";
import { planFetch } from "./plan-fetch.mts";
import type { TransferPlan } from "./plan-transfer.mts";

export interface Transferred {
  result: StreamResult;
  /** Only changed files travelled. */
  incremental: boolean;
}

export async function transfer(
  plan: TransferPlan,
  era: EraStrategy,
  fetch: Fetch,
  options: { agentId: string; sessionsDir: string; dryRun: boolean; reporter: Reporter },
): Promise<Transferred> {
  const { reporter } = options;
  const mode = options.dryRun ? "manifest" : "stream";
  reporter.progress(`${mode === "stream" ? "transferring" : "listing"} ${options.agentId}'s sessions…`);
  const { provenance } = plan;
  if (mode === "stream" && era.incremental && provenance && Object.keys(provenance.files).length) {
    // Incremental: list sizes and hashes first, then fetch only what changed, appends as their new bytes.
    const listing = await fetch("manifest", plan.args, "listing");
    const wanted = await planFetch(listing, options.sessionsDir, provenance);
    if (wanted) {
      reporter.progress(`fetching ${plural(wanted.requests.length, "changed file")}…`);
      const fetched = wanted.requests.length
        ? await fetch("fetch", [...plan.where, ...wanted.requests], "transfer", wanted.prefixes)
        : { ...listing, mode: "fetch" as const, files: [], wireBytes: 0 };
      const result = {
        ...fetched,
        files: [...fetched.files, ...wanted.unchanged],
        wireBytes: listing.wireBytes + fetched.wireBytes,
      };
      return { result, incremental: true };
    }
    const result = await fetch("stream", plan.args, "transfer");
    result.wireBytes += listing.wireBytes;
    return { result, incremental: false };
  }
  return {
    result: await fetch(mode, plan.args, mode === "stream" ? "transfer" : "listing"),
    incremental: false,
  };
}
