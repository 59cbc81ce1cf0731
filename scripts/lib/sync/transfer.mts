// Stage 6, transfer into staging: the era's program streams the files into the staging folder, every size and
// hash checked on the way (remote/stream.mts). A dry run only lists. An era that supports it, with a backup to
// compare against, transfers incrementally: a listing first, then only what changed.
import { plural, type Reporter } from "../cli.mts";
import type { EraStrategy } from "../openclaw/era.mts";
import type { StreamResult, StreamedFile } from "../remote/stream.mts";
import { isCaseInsensitive, localNames, type LocalName } from "../store/names.mts";
import type { Provenance } from "../store/provenance.mts";
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
  options: { agentId: string; sessionsDir: string; stagingDir: string; dryRun: boolean; reporter: Reporter },
): Promise<Transferred> {
  const { reporter } = options;
  const nameLocally = await localNamer(plan.provenance, options.stagingDir);
  const mode = options.dryRun ? "manifest" : "stream";
  reporter.progress(`${mode === "stream" ? "transferring" : "listing"} ${options.agentId}'s sessions…`);
  const { provenance } = plan;
  if (mode === "stream" && era.incremental && provenance && Object.keys(provenance.files).length) {
    // Incremental: list sizes and hashes first, then fetch only what changed, appends as their new bytes.
    const listing = await fetch("manifest", plan.args, "listing");
    nameLocally(listing.files);
    const wanted = await planFetch(listing, options.sessionsDir, provenance);
    if (wanted) {
      reporter.progress(`fetching ${plural(wanted.requests.length, "changed file")}…`);
      const fetched = wanted.requests.length
        ? await fetch("fetch", [...plan.where, ...wanted.requests], "transfer", wanted.prefixes)
        : { ...listing, mode: "fetch" as const, files: [], wireBytes: 0 };
      nameLocally(fetched.files);
      const result = {
        ...fetched,
        files: [...fetched.files, ...wanted.unchanged],
        skipped: [...(listing.skipped ?? []), ...(fetched.skipped ?? [])],
        wireBytes: listing.wireBytes + fetched.wireBytes,
      };
      return { result, incremental: true };
    }
    const result = await fetch("stream", plan.args, "transfer");
    nameLocally(result.files);
    result.wireBytes += listing.wireBytes;
    return { result, incremental: false };
  }
  const result = await fetch(mode, plan.args, mode === "stream" ? "transfer" : "listing");
  nameLocally(result.files);
  return { result, incremental: false };
}

/**
 * Local names: the bot's own wherever this filesystem can hold them (store/names.mts), decided once per run from
 * the first full listing, so an incremental fetch lands under the same names.
 */
async function localNamer(
  provenance: Provenance | undefined,
  stagingDir: string,
): Promise<(files: StreamedFile[]) => void> {
  let mapping: Map<string, LocalName> | undefined;
  // (OCSYNC_TEST_CASEFOLD=1: tests on a machine that cannot mount a case-insensitive filesystem simulate one.)
  const caseInsensitive = process.env.OCSYNC_TEST_CASEFOLD === "1" || (await isCaseInsensitive(stagingDir));
  return (files) => {
    if (!mapping) {
      const previous = new Map<string, string>();
      for (const [local, record] of Object.entries(provenance?.files ?? {}))
        if (record.remoteName) previous.set(local, record.remoteName);
      const current = new Set(files.map((f) => f.name));
      const reserved = Object.entries(provenance?.files ?? {})
        .filter(([local, record]) => !current.has(record.remoteName ?? local))
        .map(([local]) => local);
      mapping = localNames(files, { caseInsensitive, previous, reserved });
    }
    for (const file of files) {
      const local = mapping.get(file.remoteName ?? file.name);
      if (local && file.remoteName === undefined && (local.local !== file.name || file.rawName)) {
        file.remoteName = file.name;
        file.name = local.local;
        file.nameReason = local.reason;
      }
    }
  };
}
