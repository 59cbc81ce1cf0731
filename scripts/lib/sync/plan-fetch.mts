// The fetch planner of an incremental transfer: from a listing (sizes and hashes on the bot) and the provenance
// of the last sync, what to fetch.
import { join } from "node:path";
import { BACKED_UP, classify, isConversation } from "../openclaw/files.mts";
import type { StreamResult, StreamedFile } from "../remote/stream.mts";
import { sha256File } from "../store/content.mts";
import type { Provenance } from "../store/provenance.mts";

/** Requests per `fetch` call (they travel as arguments of one command line, ~150 bytes each); more changed files
 * make more calls. */
export const MAX_FETCH_REQUESTS = 200;

export interface FetchPlan {
  /** `=name:offset:sha256-of-the-first-offset-bytes` (offset 0 and `-`: the whole file). */
  requests: string[];
  /** Files fetched from an offset: name → the local file holding their first bytes. */
  prefixes: Map<string, string>;
  /** Files the backup holds exactly as recorded and the cloud has unchanged are not sent, marked unchanged. */
  unchanged: StreamedFile[];
  /** Quick-check stamps to record for the fetched files (local name → "<size> <mtime> <inode>"). */
  quick: Map<string, string>;
}

export interface PlanFetchOptions {
  /** Git's blob id of each file in the sessions folder that is clean in git (store/git.mts cleanBlobs). */
  clean?: Map<string, string>;
  /** The bot's clock (seconds) when a quick listing was made: a stamp whose mtime is not older is not recorded,
   * since the file could still change within that second without its stat showing it. */
  now?: number;
}

/**
 * Files the backup holds exactly as recorded and the cloud has unchanged are not sent; a conversation that only
 * grew is fetched from the end of what the backup holds (the bot checks that the start is unchanged, the local
 * side checks the whole); anything else whole.
 *
 * Nothing is read that provably did not change: on the bot, a quick listing (`quick` stamps, no sha256) takes a
 * file whose size, mtime and inode are the recorded ones for the recorded content; here, a file git says is the
 * recorded blob is intact without being hashed.
 */
export async function planFetch(
  listing: StreamResult,
  sessionsDir: string,
  provenance: Provenance,
  options: PlanFetchOptions = {},
): Promise<FetchPlan> {
  const requests: string[] = [];
  const prefixes = new Map<string, string>();
  const unchanged: StreamedFile[] = [];
  const quick = new Map<string, string>();
  const trusted = (stamp: string | undefined) =>
    stamp !== undefined && options.now !== undefined && Number(stamp.split(" ")[1]) < options.now
      ? stamp
      : undefined;
  // Files the backup keeps under another name than the bot's (FileRecord.exportedAs), by the bot's name.
  const kept = new Map<string, string>();
  for (const [local, record] of Object.entries(provenance.files))
    if (record.exportedAs !== undefined && record.inCloud !== false) kept.set(record.exportedAs, local);
  for (const listed of listing.files) {
    const info = classify(listed.remoteName ?? listed.name);
    if (!BACKED_UP.has(info.kind)) continue;
    // The bot's `<id>.jsonl` of a session the backup keeps as its file-era file: that file is its record.
    const home =
      listed.exportedAs === undefined && !provenance.files[listed.name]?.exportedAs
        ? kept.get(listed.name)
        : undefined;
    const localName = listed.exportedAs !== undefined ? listed.name : (home ?? listed.name);
    const record = provenance.files[localName];
    const file = home ? { ...listed, name: home, exportedAs: listed.name } : { ...listed };
    delete file.quick;
    if (listed.quick !== undefined) {
      // The quick check: same stat as when the recorded content was read, so the same content.
      const same =
        record?.quick !== undefined && record.quick === listed.quick && record.cloudSize === listed.size;
      file.sha256 = same ? record.cloudSha256 : "";
      // A stamp seen in the very second of the listing is recorded only when it was already (trusted) before.
      const stamp = trusted(listed.quick) ?? (same ? listed.quick : undefined);
      if (stamp) {
        file.quick = stamp;
        quick.set(listed.name, stamp);
      }
    }
    const localPath = join(sessionsDir, localName);
    let intactAnswer: Promise<{ intact: boolean; present: boolean }> | undefined;
    const local = () =>
      (intactAnswer ??= (async () => {
        if (!record) return { intact: false, present: false };
        if (record.gitBlob && options.clean?.get(localName) === record.gitBlob)
          return { intact: true, present: true };
        const sha = await sha256File(localPath).catch(() => undefined);
        return { intact: sha === record.sha256, present: sha !== undefined };
      })());
    if (record && file.sha256 && record.cloudSha256 === file.sha256) {
      const { intact, present } = await local();
      if (intact || (record.prunedAt && !present)) {
        unchanged.push({ ...file, unchanged: true });
        continue;
      }
    }
    // Names travel as the hex of their bytes (any name the bot's filesystem allows); a fetched file arrives under
    // the bot's name (continuity puts it into its file again).
    const botName = file.exportedAs ?? file.remoteName ?? file.name;
    const hex = (file.rawName ?? Buffer.from(botName)).toString("hex");
    // The stored bytes are the cloud's first bytes when nothing was redacted (a held-back line only shortens):
    // a conversation that grew is asked for from there on; so is any file of unknown content (no quick-check
    // match) that is not shorter, which costs the bot one read of it and the wire nothing when it did not change.
    // A compressed archive is fetched whole (the backup holds it decompressed).
    const unknown = file.sha256 === "";
    if (
      record &&
      (isConversation(info.kind) || unknown) &&
      !info.compressed &&
      !record.redactions &&
      record.size > 0 &&
      (file.size > record.size || (unknown && file.size === record.size)) &&
      // An append starts from the local bytes, so they are read, never taken on git's word: git calls a file
      // with converted line endings (core.autocrlf, eol=crlf) clean although its bytes are not the synced ones.
      (await sha256File(localPath).catch(() => undefined)) === record.sha256
    ) {
      requests.push(`=${hex}:${record.size}:${record.sha256}`);
      prefixes.set(botName, localPath);
    } else {
      requests.push(`=${hex}:0:-`);
    }
  }
  return { requests, prefixes, unchanged, quick };
}
