// What the backup already holds, told to the bot in a few kilobytes (the local half of the incremental listing;
// the bot's half is in scripts/lib/remote/export-sqlite.mjs, and both must agree on every byte):
//
//   %<buckets>:<digest><digest>...     one argument of the listing (`manifest` mode)
//
// Every file the last sync found on the bot (name, size and sha256 as the bot reported them, from the provenance)
// falls into a bucket by the first four bytes of sha256(name); a bucket's digest is the first 16 hex digits of the
// sha256 of its sorted `<hexname> <size> <sha256>\n` lines. The bot computes the same over what it has now, lists
// only the files of the buckets that differ, and names the matched buckets in `I matched <bitmap>`: their files
// are exactly the ones recorded, so they are taken from the provenance without travelling. An idle day lists
// nothing; a mismatch only ever lists more.
//
//   ^<identity>.<digests>               the `I stamp` of the answer the provenance was recorded from
//
// With it, a bot whose database, WAL and files beside them kept their stat (device, inode, size, mtime, ctime) since
// that answer, asked with the digests that answer found, reads nothing: every bucket matches (an idle day's cost
// is then opening the database, not hashing it). The stamp is kept with the exporter's digest: a changed exporter
// reads everything once.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { StreamedFile } from "../remote/stream.mts";
import type { Provenance } from "../store/provenance.mts";

interface Entry {
  file: StreamedFile;
  line: string;
  consumed?: boolean;
}

export interface Known {
  /** The listing's arguments: the digests, then the stamp when there is one. */
  args: string[];
  buckets: number;
  /** The files of the buckets the bot says still match (`I buckets`, `I matched`), as its listing would have
   * them (a file kept under another name carries it as `name`, the bot's as `exportedAs`), and the consumed
   * ones among them (Provenance.consumed). Undefined when the answer is not for this request. */
  matched(
    info: Record<string, string>,
  ): { files: StreamedFile[]; consumed: NonNullable<Provenance["consumed"]> } | undefined;
}

/** A name's bucket: the first four bytes of sha256(name), modulo the (power of two) bucket count. */
export function bucketOf(nameBytes: Buffer, buckets: number): number {
  return createHash("sha256").update(nameBytes).digest().readUInt32BE(0) & (buckets - 1);
}

/** A bucket's digest: sha256 of its sorted lines, first 16 hex digits. */
export function bucketDigest(lines: string[]): string {
  const hash = createHash("sha256");
  for (const line of [...lines].sort()) hash.update(line);
  return hash.digest("hex").slice(0, 16);
}

/** About eight files per bucket, 1 to 1,024 buckets (at most 16 KiB of argument). */
export function bucketCount(files: number): number {
  let buckets = 1;
  while (buckets < 1024 && buckets * 8 < files) buckets *= 2;
  return buckets;
}

let last: { key: string; known: Known } | undefined;

/** The `%known` argument for what the provenance says the bot had at the last sync (computed once per run: the
 * bundle's foresight and the transfer ask for the same). */
export function knownFromProvenance(provenance: Provenance): Known {
  const key = JSON.stringify([provenance.files, provenance.consumed, provenance.exportStamp]);
  if (last?.key !== key) last = { key, known: computeKnown(provenance) };
  return last.known;
}

function computeKnown(provenance: Provenance): Known {
  const entries: Array<{ bytes: Buffer; file: StreamedFile; consumed?: boolean }> = [];
  for (const [local, record] of Object.entries(provenance.files)) {
    if (record.inCloud === false) continue;
    if (record.exportedAs !== undefined) {
      const file: StreamedFile = {
        name: local,
        exportedAs: record.exportedAs,
        size: record.cloudSize,
        sha256: record.cloudSha256,
      };
      entries.push({ bytes: Buffer.from(record.exportedAs), file });
      continue;
    }
    const name = record.remoteName ?? local;
    const bytes = record.remoteNameHex ? Buffer.from(record.remoteNameHex, "hex") : Buffer.from(name);
    const file: StreamedFile = { name, size: record.cloudSize, sha256: record.cloudSha256 };
    if (record.remoteNameHex) file.rawName = bytes;
    entries.push({ bytes, file });
  }
  for (const [name, file] of Object.entries(provenance.consumed ?? {}))
    entries.push({ bytes: Buffer.from(name), file: { name, ...file }, consumed: true });
  const buckets = bucketCount(entries.length);
  const byBucket: Entry[][] = Array.from({ length: buckets }, () => []);
  for (const { bytes, file, consumed } of entries) {
    byBucket[bucketOf(bytes, buckets)].push({
      file,
      consumed,
      line: `${bytes.toString("hex")} ${file.size} ${file.sha256}\n`,
    });
  }
  const arg = `%${buckets}:${byBucket.map((bucket) => bucketDigest(bucket.map((e) => e.line))).join("")}`;
  const stamp = provenance.exportStamp;
  return {
    args: stamp && stamp.exporter === exporterDigest() ? [arg, `^${stamp.stamp}`] : [arg],
    buckets,
    matched(info) {
      if (Number(info.buckets) !== buckets || !/^(?:[0-9a-f]{2})*$/.test(info.matched ?? "x"))
        return undefined;
      const bitmap = Buffer.from(info.matched, "hex");
      if (bitmap.length !== Math.ceil(buckets / 8)) return undefined;
      const files: StreamedFile[] = [];
      const consumed: NonNullable<Provenance["consumed"]> = {};
      byBucket.forEach((bucket, i) => {
        if (!(bitmap[i >> 3] & (1 << (i & 7)))) return;
        for (const entry of bucket) {
          if (entry.consumed)
            consumed[entry.file.name] = { size: entry.file.size, sha256: entry.file.sha256 };
          else files.push({ ...entry.file });
        }
      });
      return { files, consumed };
    },
  };
}

let exporter: string | undefined;
/** The exporter's identity (sha256 of its file, 16 hex digits): a stamp holds only for the exporter that made it. */
export function exporterDigest(): string {
  exporter ??= createHash("sha256")
    .update(readFileSync(new URL("../remote/export-sqlite.mjs", import.meta.url)))
    .digest("hex")
    .slice(0, 16);
  return exporter;
}
