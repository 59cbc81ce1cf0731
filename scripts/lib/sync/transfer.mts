// Stage 6, transfer into staging: the era's program streams the files into the staging folder, every size and
// hash checked on the way (remote/stream.mts). A dry run only lists. An era that supports it, with a backup to
// compare against, transfers incrementally: a listing first (without what the backup provably holds), then only
// what changed, in batches (a busy day is many fetches, never the whole history again).
import { Failure, plural, type Reporter } from "../cli.mts";
import type { EraStrategy } from "../openclaw/era.mts";
import type { StreamResult, StreamedFile } from "../remote/stream.mts";
import { isCaseInsensitive, localNames, nameProbe, type LocalName } from "../store/names.mts";
import { HAS_ZSTD } from "../zstd.mts";
import type { Provenance } from "../store/provenance.mts";
import type { Fetch } from "./fetch.mts";
import { MAX_FETCH_REQUESTS, planFetch } from "./plan-fetch.mts";
import { knownFromProvenance, type Known } from "../openclaw/known.mts";
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
  options: {
    agentId: string;
    sessionsDir: string;
    stagingDir: string;
    dryRun: boolean;
    reporter: Reporter;
    /** The sessions folder's files git says are clean (OpenMemory.cleanBlobs). */
    cleanBlobs: () => Promise<Map<string, string> | undefined>;
  },
): Promise<Transferred> {
  const { reporter } = options;
  const nameLocally = await localNamer(plan.provenance, options.stagingDir);
  const mode = options.dryRun ? "manifest" : "stream";
  reporter.progress(`${mode === "stream" ? "transferring" : "listing"} ${options.agentId}'s sessions…`);
  const { provenance } = plan;
  if (mode === "stream" && era.incremental && provenance && Object.keys(provenance.files).length) {
    // Incremental: list first (without what the backup provably holds, see EraStrategy.listing), then fetch
    // only what changed, appends as their new bytes.
    const known = era.listing === "known" ? knownFromProvenance(provenance) : undefined;
    const listing = await fetch("manifest", listingArgs(era, plan.args, known), "listing");
    const consumed: NonNullable<StreamResult["consumed"]> = {};
    if (known) {
      const matched = known.matched(listing.info);
      if (matched === undefined && listing.info.buckets !== undefined)
        throw new Failure("the bot's listing does not match the request (bucket count); run the sync again");
      Object.assign(consumed, matched?.consumed);
      listing.files.push(...(matched?.files ?? []));
    }
    // What continuity merged into another file last time and is still the same stays merged, untransferred.
    listing.files = listing.files.filter((file) => {
      const merged = file.exportedAs === undefined ? provenance.consumed?.[file.name] : undefined;
      if (!merged || merged.sha256 !== file.sha256 || merged.size !== file.size) return true;
      consumed[file.name] = merged;
      return false;
    });
    nameLocally(listing.files);
    const wanted = await planFetch(listing, options.sessionsDir, provenance, {
      clean: await options.cleanBlobs(),
      now: listing.info.now === undefined ? undefined : Number(listing.info.now),
    });
    // Every changed file is fetched, however many: in batches of MAX_FETCH_REQUESTS (each request is an argument
    // of one command line), never as a stream of everything.
    const batches: string[][] = [];
    for (let at = 0; at < wanted.requests.length; at += MAX_FETCH_REQUESTS)
      batches.push(wanted.requests.slice(at, at + MAX_FETCH_REQUESTS));
    const files: StreamedFile[] = [];
    const skipped = [...(listing.skipped ?? [])];
    let wireBytes = listing.wireBytes;
    let info = listing.info;
    for (const [i, batch] of batches.entries()) {
      reporter.progress(
        `fetching ${plural(wanted.requests.length, "changed file")}${batches.length > 1 ? ` (batch ${i + 1} of ${batches.length})` : ""}…`,
      );
      const fetched = await fetch("fetch", [...plan.args, ...batch], "transfer", wanted.prefixes);
      nameLocally(fetched.files);
      for (const file of fetched.files) {
        const stamp = wanted.quick.get(file.name);
        if (stamp) file.quick = stamp;
      }
      files.push(...fetched.files);
      skipped.push(...(fetched.skipped ?? []));
      wireBytes += fetched.wireBytes;
      info = { ...info, ...fetched.info };
    }
    const result: StreamResult = {
      mode: "fetch",
      info,
      files: [...files, ...wanted.unchanged],
      skipped,
      wireBytes,
      consumed,
    };
    return { result, incremental: true };
  }
  // A full transfer of an era with a quick check also brings each file's stat (taken before it was read), so
  // that the next run reads only what changed after it.
  const stamped = mode === "stream" && era.incremental && era.listing === "quick";
  const result = await fetch(
    mode,
    stamped ? [...plan.args, "%quick"] : plan.args,
    mode === "stream" ? "transfer" : "listing",
  );
  nameLocally(result.files);
  const now = Number(result.info.now);
  for (const file of result.files) {
    const [size, mtime] = (file.quick ?? "").split(" ").map(Number);
    if (file.quick !== undefined && !(size === file.size && mtime < now)) delete file.quick;
  }
  return { result, incremental: false };
}

/** The incremental listing's arguments after the mode: the plan's, then how it leaves out what did not change. */
export function listingArgs(era: EraStrategy, args: string[], known: Known | undefined): string[] {
  return [...args, ...(known ? known.args : era.listing === "quick" ? ["%quick"] : [])];
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
  // What this filesystem can hold is found out here, in staging: case-insensitivity (macOS, Windows, FAT), and
  // any odd name tried (test/names.test.mts runs this on a real vfat and a 143-byte-name FUSE folder).
  const caseInsensitive = await isCaseInsensitive(stagingDir);
  const fits = nameProbe(stagingDir);
  return (files) => {
    if (!mapping) {
      const previous = new Map<string, string>();
      for (const [local, record] of Object.entries(provenance?.files ?? {}))
        if (record.remoteName) previous.set(local, record.remoteName);
      const current = new Set(files.map((f) => f.name));
      const reserved = Object.entries(provenance?.files ?? {})
        .filter(([local, record]) => !current.has(record.remoteName ?? local))
        .map(([local]) => local);
      // Kept compressed by an earlier sync (a Node without zstd): such an archive keeps its name.
      const storedAsIs = new Set(
        Object.entries(provenance?.files ?? {})
          .filter(([, record]) => !record.remoteName)
          .map(([local]) => local),
      );
      mapping = localNames(files, {
        caseInsensitive,
        previous,
        reserved,
        fits,
        decompress: HAS_ZSTD,
        storedAsIs,
      });
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
