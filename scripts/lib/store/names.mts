// Where each file from the bot is stored under <memory>/sessions/: under the bot's own name wherever the local
// filesystem can hold it, else under a stated escaped name, with the mapping in the provenance file
// (`remoteName`, and `remoteNameHex` for names that are not UTF-8) so restore and local-state can use the original.
//
// The escaped name (docs/naming.md, "Names the local filesystem cannot hold"):
//   * bytes that are not UTF-8 become `%XX` (and "%" becomes `%25`): reversible by itself;
//   * characters this OS does not allow in a name (Windows: <>:"\|?* and control characters) become `%XX`;
//   * a name this filesystem refuses although the OS allows it (FAT/exFAT on Linux: the Windows characters,
//     some non-ASCII names; eCryptfs: more than 143 bytes), found by trying to create it in the staging folder,
//     becomes the first of: the Windows escape, every byte outside [A-Za-z0-9._~-] as `%XX`, then that cut with
//     a hash (to 255, 143, 100 bytes) that the filesystem accepts;
//   * a name that would collide with another one on a case-insensitive filesystem, or that is longer than 255
//     bytes after escaping, gets `~<10 hex of the sha256 of the original bytes>` before its `.jsonl` part (cut
//     to fit): only the provenance mapping reverses that.
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, unlinkSync } from "node:fs";
import { rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { classify } from "../openclaw/files.mts";

export interface NameInput {
  /** The name as text (`nameText()` of the bot's bytes). */
  name: string;
  /** The bot's bytes when they are not UTF-8. */
  rawName?: Buffer;
}

export interface LocalName {
  local: string;
  /** Why the local name differs from the bot's ("not UTF-8", "case collision", "too long", "not allowed here"). */
  reason?: string;
}

const MAX_BYTES = 255;
/** The reason of a compressed archive stored decompressed (sync's check stage decompresses it). */
export const DECOMPRESSED = "decompressed (zstd)";
const WINDOWS_INVALID = /[<>:"\\|?*\u0000-\u001f]/g;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i;

/** Whether names differing only in case name the same file in `dir` (macOS, Windows, vfat, casefold ext4). */
export async function isCaseInsensitive(dir: string): Promise<boolean> {
  const probe = join(dir, `.ocsync-case-Probe-${process.pid}`);
  await writeFile(probe, "");
  try {
    return Boolean(await stat(join(dir, `.ocsync-case-probe-${process.pid}`)).catch(() => undefined));
  } finally {
    await rm(probe, { force: true });
  }
}

const fold = (name: string) => name.normalize("NFC").toLowerCase();

function percent(text: string, bad: RegExp): string {
  return text.replace(bad, (c) =>
    [...Buffer.from(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join(""),
  );
}

/** Errors that say a filesystem cannot hold this name (fusefat says EPERM, the kernel's vfat EINVAL). */
const NAME_REFUSED = new Set(["ENAMETOOLONG", "EINVAL", "EILSEQ", "EPERM"]);

/**
 * Whether this filesystem can hold a name, tried in `<dir>/names` (a folder of the staging folder): the name is
 * created and removed again. Only names outside the portable set are tried (see `needsProbe`).
 */
export function nameProbe(dir: string): (name: string) => boolean {
  const probeDir = join(dir, "names");
  mkdirSync(probeDir, { recursive: true });
  const tryName = (name: string): boolean => {
    const path = join(probeDir, name);
    try {
      closeSync(openSync(path, "wx"));
    } catch (error) {
      if (NAME_REFUSED.has((error as NodeJS.ErrnoException).code ?? "")) return false;
      throw error;
    }
    unlinkSync(path);
    return true;
  };
  tryName("probe"); // a plain name must work: any error here is not about names
  return tryName;
}

/** Names made of portable characters and at most 143 bytes (eCryptfs's limit) fit everywhere: not probed. */
function needsProbe(name: string): boolean {
  return /[^A-Za-z0-9._-]/.test(name) || Buffer.byteLength(name) > 143;
}

function windowsEscape(local: string): string {
  let escaped = percent(local, WINDOWS_INVALID).replace(/[. ]$/, (c) => percent(c, /./g));
  if (WINDOWS_RESERVED.test(escaped))
    escaped = `%${escaped.charCodeAt(0).toString(16).toUpperCase()}${escaped.slice(1)}`;
  return escaped;
}

/** Every byte outside [A-Za-z0-9._~-] as %XX: plain ASCII, accepted by any filesystem that takes long names. */
function asciiEscape(local: string): string {
  return percent(local, /[^A-Za-z0-9._~-]/gu);
}

/** `<stem>~<hash>.<tail>`, cut to `max` bytes, where <tail> starts at the first ".jsonl" (or the last dot). */
function withHash(name: string, original: Buffer, max = MAX_BYTES): string {
  const hash = createHash("sha256").update(original).digest("hex").slice(0, 10);
  let at = name.indexOf(".jsonl");
  if (at < 0) at = name.lastIndexOf(".") > 0 ? name.lastIndexOf(".") : name.length;
  let stem = name.slice(0, at);
  let tail = name.slice(at);
  const tailMax = Math.min(100, Math.floor(max / 2));
  while (Buffer.byteLength(tail) > tailMax) tail = [...tail].slice(0, -1).join("");
  while (Buffer.byteLength(`${stem}~${hash}${tail}`) > max) stem = [...stem].slice(0, -1).join("");
  return `${stem}~${hash}${tail}`;
}

/**
 * Local names for a set of files, by their text name. `previous` (local name → bot's text name, from the
 * provenance) keeps an earlier choice stable; files already stored under their own name keep it.
 */
export function localNames(
  files: NameInput[],
  options: {
    caseInsensitive: boolean;
    platform?: NodeJS.Platform;
    previous?: Map<string, string>;
    /** Local names taken by files the bot no longer has (kept in the backup): never reused. */
    reserved?: string[];
    /** Whether this filesystem can hold a name (nameProbe()); without it only the OS rules apply. */
    fits?: (name: string) => boolean;
    /**
     * This Node decompresses zstd: a compressed archive (`….zst`, docs/naming.md) is stored decompressed under its
     * name without `.zst` (what the SQLite-era exporter stores for the same archive), except one `storedAsIs`
     * names (kept compressed by an earlier sync on a Node without zstd: it keeps that name).
     */
    decompress?: boolean;
    storedAsIs?: ReadonlySet<string>;
  },
): Map<string, LocalName> {
  const platform = options.platform ?? process.platform;
  const previousByRemote = new Map<string, string>();
  for (const [local, remote] of options.previous ?? []) previousByRemote.set(remote, local);
  const result = new Map<string, LocalName>();
  const key = (name: string) => (options.caseInsensitive ? fold(name) : name);
  const used = new Set<string>((options.reserved ?? []).map(key));
  const own = new Set(files.map((f) => key(f.name)));
  // Names kept from before go first, then names already in lower case (OpenClaw writes lower-case ids), then byte
  // order: who keeps the plain name in a case collision is stable from run to run.
  const rank = (f: NameInput) =>
    (previousByRemote.has(f.name) ? 0 : 2) + (f.name === f.name.toLowerCase() ? 0 : 1);
  const ordered = [...files].sort(
    (a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  for (const file of ordered) {
    const original = file.rawName ?? Buffer.from(file.name);
    let local = previousByRemote.get(file.name) ?? file.name;
    let reason: string | undefined = local !== file.name ? "kept from an earlier sync" : undefined;
    if (reason === undefined) {
      if (file.rawName) reason = "not UTF-8";
      if (
        options.decompress &&
        classify(file.name).compressed === "zstd" &&
        !options.storedAsIs?.has(file.name)
      ) {
        local = local.slice(0, -".zst".length);
        reason = DECOMPRESSED;
      }
      if (
        platform === "win32" &&
        (new RegExp(WINDOWS_INVALID.source).test(local) ||
          /[. ]$/.test(local) ||
          WINDOWS_RESERVED.test(local))
      ) {
        local = windowsEscape(local);
        reason = "not allowed here";
      }
      if (Buffer.byteLength(local) > MAX_BYTES) {
        local = withHash(local, original);
        reason = "too long";
      }
      const fits = options.fits;
      if (fits && needsProbe(local) && !fits(local)) {
        // The filesystem refuses it: the first candidate it accepts (and no other file uses).
        const ascii = asciiEscape(local);
        const hashed = (name: string, why: string) =>
          [MAX_BYTES, 143, 100].map((max): [string, string] => [withHash(name, original, max), why]);
        const candidates: [string, string][] = [
          [windowsEscape(local), "not allowed here"],
          ...hashed(local, "too long"),
          [ascii, "not allowed here"],
          ...hashed(ascii, "not allowed here"),
        ];
        // Never another file's own name (an escape can spell one: `議` is `%E8%AD%B0`).
        const found = candidates.find(
          ([name]) =>
            Buffer.byteLength(name) <= MAX_BYTES &&
            !used.has(key(name)) &&
            !(own.has(key(name)) && key(name) !== key(file.name)) &&
            fits(name),
        );
        [local, reason] = found ?? candidates[candidates.length - 1];
      }
    }
    if (used.has(key(local))) {
      local = withHash(local, original);
      reason = "case collision";
    }
    for (let n = 1; used.has(key(local)); n++) local = withHash(`${local}${n}`, original);
    used.add(key(local));
    result.set(file.name, reason ? { local, reason } : { local });
  }
  return result;
}
