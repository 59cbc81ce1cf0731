// export-sqlite.mjs: runs ON the bot's machine, with the container's own Node (>= 22.5 for node:sqlite, >= 22.15
// for layout C's zstd). Exports one agent's sessions from a SQLite-era OpenClaw database as the file-era layout, in
// the same stream format as pull.sh, so the local pipeline is the same for both eras. No dependencies.
//
// Invoked as:  node --max-semi-space-size=1 --lite-mode --input-type=module - MODE STATE_DIR AGENT [-EXCLUDE_PATTERN | +INCLUDE_PATTERN]...
//   (this file's source on stdin; `node export-sqlite.mjs MODE ...` works too)
//   MODE      manifest (sizes and hashes only), stream (the files too) or fetch (named files, see below)
//   %B:DIGESTS (manifest) what the backup holds, as bucket digests: only the buckets that differ are listed, the
//             others named in `I buckets B` / `I matched <bitmap>` (docs/sqlite-era.md, openclaw/known.mts)
//   ^STAMP    (manifest, with %known) the `I stamp` of an earlier answer: when nothing the export reads changed
//             since (the database, its WAL, the folders and files beside it: device, inode, size, mtime and ctime)
//             and %known is what that answer found, every bucket matches and nothing is read (the idle day's
//             quick check, as rsync's size-and-mtime check is for files)
//   =HEXNAME:OFFSET:SHA256 (fetch) a record by name; with OFFSET > 0 and its first OFFSET bytes hashing to
//             SHA256, only the bytes after OFFSET (a `P` record, as pull.sh sends); `G <hexname>` when it is gone
//   patterns  shell-style patterns (* ? [...]) on file names, as sync passes them from scripts/lib/openclaw/files.mts
//             (the one list of what a backup leaves out). A -pattern drops any name it matches. File-era leftovers
//             must also match a +pattern (with no +pattern: every name).
//
// What it reads, inside ONE read transaction (a consistent snapshot, WAL-only commits included):
//   <state>/agents/<agent>/agent/openclaw-agent.sqlite, opened read-only. When the database has no -wal/-shm
//   (no connection open: gateway stopped) it is opened `immutable` so SQLite creates no file next to it, and the
//   file's identity is checked again at the end. Never copies the live files, never writes into the state dir,
//   and makes no temporary files: every record is produced twice from the same snapshot, once to measure its size
//   and sha256 and once to send it (see docs/sqlite-era.md).
//
// Output on stdout, gzip-compressed:
//   OCSYNC 2 <mode>\n
//   I <key> <value>\n                    era, layout, user_version, schema_version, app_version, agent_id, node
//   F <size> <sha256> <hexname>\n       then, in stream mode, exactly <size> bytes and "\n"; <hexname> is the
//                                        name's bytes in hex (any byte but "/" and NUL travels exactly)
//   I hashed <n>\n                       (manifest, stream) how many records were read to hash them
//   I stamp <identity>.<digests>\n      (manifest, stream) what the export read, as a hash of its stat (only when
//                                        every time is over 2 s old (the WAL's a minute), none changed while read) and of
//                                        every bucket's digest: the next run's ^STAMP
//   E <status> <files>\n                 last record: 0 when everything was sent
// Names (plain names inside the backup's sessions/ folder):
//   sessions.json                        {session_key: entry_json}, as JSON.stringify(store, null, 2)
//   <session_id>.jsonl                   one per transcript generation, events by seq, one event per line
//   <archive_name>                       session_transcript_archives rows, decoded (".zst" dropped from the name)
//   <original name>                      file-era leftovers in sessions/ (".zst" ones decoded) and transcripts the
//                                        migration moved aside without importing (archive-tier.*), under the name
//                                        they had before the migration. A name already taken by the database gets
//                                        "<transcript>.jsonl.bak.<time>" instead (identical bytes are sent once).
// Errors: "ocsync-error: <sentence>" on stderr and a non-zero exit.
import { createHash } from "node:crypto";
import {
  closeSync,
  createReadStream,
  existsSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { once } from "node:events";
import zlib from "node:zlib";

const SESSION_ID = /^[a-z0-9][a-z0-9._-]{0,127}$/i;
const CHUNK = 64 * 1024;
// Names are handled as byte strings (latin1: one char per byte), so a name that is not UTF-8 stays exact.
const bytesOf = (name) => Buffer.from(name, "latin1");
const fromText = (text) => Buffer.from(text, "utf8").toString("latin1");
const shown = (name) => bytesOf(name).toString("utf8");
/** A path whose last part is a byte-string name. */
const pathOf = (dir, name) => Buffer.concat([Buffer.from(`${dir}/`), bytesOf(name)]);

/**
 * Only regular files with one link are read (as pull.sh does): a symlink or a hard link named like a session file
 * could be a second name of openclaw.json. What is left out is sent as an `S <hexname> <why>` record.
 */
const skippedEntries = [];
/** Every file and folder collect() reads besides the database (their stat is part of the stamp). */
const sources = [];
function readable(dirent, path, name) {
  const why = dirent.isSymbolicLink()
    ? "symlink"
    : !dirent.isFile()
      ? "other"
      : lstatSync(path).nlink !== 1
        ? "hardlink"
        : undefined;
  if (why) skippedEntries.push({ name, why });
  return why === undefined;
}

class ExportError extends Error {}
const fail = (sentence) => {
  throw new ExportError(sentence);
};

/** Shell `case`-style pattern → RegExp (*, ?, [...] with ! or ^ negation). */
function globToRegExp(pattern) {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        let body = pattern.slice(i + 1, end);
        if (body[0] === "!") body = "^" + body.slice(1);
        re += `[${body.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "s");
}

function makeFilter(patterns) {
  const exclude = patterns.filter((p) => p.startsWith("-")).map((p) => globToRegExp(fromText(p.slice(1))));
  const includes = patterns.filter((p) => p.startsWith("+")).map((p) => fromText(p.slice(1)));
  const include = (includes.length ? includes : ["*"]).map(globToRegExp);
  const excluded = (name) => exclude.some((re) => re.test(name));
  return {
    /** Names made from the database: sent unless excluded. */
    database: (name) => !excluded(name),
    /** File-era leftovers: must also be included. */
    leftover: (name) => !excluded(name) && include.some((re) => re.test(name)),
  };
}

/** A byte-string name a POSIX filesystem allows: 1-255 bytes, no "/" or NUL, not "." or "..". */
function safeName(name) {
  return (
    typeof name === "string" &&
    name.length > 0 &&
    name.length <= 255 &&
    name !== "." &&
    name !== ".." &&
    !/[/\0]/.test(name)
  );
}

function archiveStamp(ms) {
  return new Date(ms).toISOString().replace(/:/g, "-");
}

// ---------------------------------------------------------------------------------------------------------------
// Layout detection

function tableColumns(db, table) {
  return db
    .prepare("SELECT name FROM pragma_table_info(?)")
    .all(table)
    .map((row) => row.name);
}

const LAYOUTS = {
  A: {
    versions: [8],
    tables: {
      session_entries: ["session_key", "session_id", "entry_json"],
      transcript_events: ["session_id", "seq", "event_json"],
    },
  },
  B: {
    versions: [19, 20, 21],
    tables: {
      session_nodes: ["session_key", "current_session_id", "entry_json"],
      session_windows: ["session_id", "session_key", "created_at"],
      transcript_events: ["session_id", "seq", "event_json"],
    },
  },
  C: {
    versions: [23],
    tables: {
      session_nodes: ["session_key", "current_session_id", "entry_json"],
      session_windows: ["session_id", "session_key", "created_at"],
      transcript_events: ["session_id", "seq", "event_json", "event_zstd", "event_utf8_bytes"],
    },
  },
};

function detectLayout(db) {
  const userVersion = Number(db.prepare("PRAGMA user_version").get().user_version);
  const tables = new Set(
    db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
      .all()
      .map((row) => row.name),
  );
  const events = tables.has("transcript_events") ? tableColumns(db, "transcript_events") : [];
  const found =
    `user_version ${userVersion}, ` +
    (tables.has("transcript_events")
      ? `transcript_events(${events.join(", ")})`
      : "no transcript_events table") +
    `, ${["session_entries", "session_nodes", "session_windows"].map((t) => `${t} ${tables.has(t) ? "present" : "absent"}`).join(", ")}`;
  const name = Object.keys(LAYOUTS).find((key) => LAYOUTS[key].versions.includes(userVersion));
  if (!name) {
    fail(
      `unknown OpenClaw database layout (${found}); this exporter knows A (user_version 8), B (19-21) and C (23)`,
    );
  }
  const missing = [];
  for (const [table, columns] of Object.entries(LAYOUTS[name].tables)) {
    if (!tables.has(table)) {
      missing.push(`table ${table}`);
      continue;
    }
    const have = new Set(tableColumns(db, table));
    for (const column of columns) if (!have.has(column)) missing.push(`column ${table}.${column}`);
  }
  if (missing.length) {
    fail(
      `database looks like layout ${name} by its user_version but lacks ${missing.join(", ")} (${found}); refusing a partial backup`,
    );
  }
  const meta = tables.has("schema_meta")
    ? (db.prepare("SELECT * FROM schema_meta ORDER BY meta_key = 'primary' DESC LIMIT 1").get() ?? {})
    : {};
  return { layout: name, userVersion, tables, meta };
}

// ---------------------------------------------------------------------------------------------------------------
// Record producers: each is a function returning an async iterable of Buffers, called once per pass.

// Memory stays flat whatever the sizes (a Fly machine shares 256-512 MB with the gateway): rows are read one at a
// time, their text is encoded straight into one of a few reused 64 KiB buffers (no per-event Buffer, nothing for
// the garbage collector to pile up), and a chunk handed out is valid until the consumer asks for the next one —
// every consumer hashes or writes it (awaiting the write) before that.
const pool = [];

async function* batched(strings) {
  const buf = pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
  let used = 0;
  try {
    for (const piece of strings) {
      if (typeof piece === "string") {
        // utf8 needs at most 3 bytes per UTF-16 unit; a piece that cannot fit even an empty buffer goes alone.
        if (used + piece.length * 3 > CHUNK) {
          if (used) yield buf.subarray(0, used);
          used = 0;
          if (piece.length * 3 > CHUNK) {
            yield Buffer.from(piece, "utf8");
            continue;
          }
        }
        used += buf.write(piece, used, "utf8");
      } else {
        if (used + piece.length > CHUNK) {
          if (used) yield buf.subarray(0, used);
          used = 0;
          if (piece.length > CHUNK) {
            yield piece;
            continue;
          }
        }
        used += piece.copy(buf, used);
      }
    }
    if (used) yield buf.subarray(0, used);
  } finally {
    pool.push(buf);
  }
}

function indexRecord(db, layout) {
  const sql =
    layout === "A"
      ? "SELECT session_key, entry_json FROM session_entries ORDER BY rowid"
      : "SELECT session_key, entry_json FROM session_nodes ORDER BY rowid";
  // Same bytes as JSON.stringify(store, null, 2), written entry by entry.
  function* pieces() {
    let first = true;
    for (const row of db.prepare(sql).iterate()) {
      let entry;
      try {
        entry = JSON.parse(row.entry_json);
      } catch {
        fail(`the index entry of session key ${JSON.stringify(row.session_key)} is not valid JSON`);
      }
      yield `${first ? "{\n" : ",\n"}  ${JSON.stringify(row.session_key)}: ${JSON.stringify(entry, null, 2).replace(/\n/g, "\n  ")}`;
      first = false;
    }
    yield first ? "{}" : "\n}";
  }
  return () => batched(pieces());
}

/** One prepared statement per query text for the whole run (thousands of sessions share it). */
const statements = new Map();
function statement(db, sql) {
  let stmt = statements.get(sql);
  if (!stmt) statements.set(sql, (stmt = db.prepare(sql)));
  return stmt;
}

function transcriptRecord(db, layout, sessionId, cold) {
  const columns = layout === "C" ? "event_json, seq, event_zstd, event_utf8_bytes" : "event_json, seq";
  const after = cold ? Number(cold.last_seq) : -Infinity;
  // The hot loop of a big export: rows as arrays where node:sqlite offers it, each event's text encoded straight
  // into the reused buffer, one yield per 64 KiB.
  async function* events() {
    const stmt = statement(
      db,
      `SELECT ${columns} FROM transcript_events WHERE session_id = ? AND seq > ? ORDER BY seq`,
    );
    const arrays = typeof stmt.setReturnArrays === "function";
    if (arrays) stmt.setReturnArrays(true);
    const buf = pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
    let used = 0;
    try {
      for (const row of stmt.iterate(sessionId, Number.isFinite(after) ? after : -1)) {
        let text = arrays ? row[0] : row.event_json;
        if (text === null || text === undefined) {
          const [seq, zstd, utf8Bytes] = arrays
            ? row.slice(1)
            : [row.seq, row.event_zstd, row.event_utf8_bytes];
          if (layout !== "C" || !zstd)
            fail(`event ${seq} of session ${sessionId} has neither event_json nor event_zstd`);
          text = zlib.zstdDecompressSync(zstd);
          if (utf8Bytes !== null && Number(utf8Bytes) !== text.length) {
            fail(
              `event ${seq} of session ${sessionId} decompresses to ${text.length} bytes, not the recorded ${utf8Bytes}`,
            );
          }
        }
        const most = (typeof text === "string" ? text.length * 3 : text.length) + 1;
        if (used + most > CHUNK && used) {
          yield buf.subarray(0, used);
          used = 0;
        }
        if (most > CHUNK) {
          yield typeof text === "string" ? Buffer.from(text, "utf8") : text;
          buf[used++] = 10;
          continue;
        }
        used += typeof text === "string" ? buf.write(text, used, "utf8") : text.copy(buf, used);
        buf[used++] = 10;
      }
      if (used) yield buf.subarray(0, used);
    } finally {
      pool.push(buf);
    }
  }
  return async function* () {
    if (cold) yield* coldBytes(cold);
    yield* events();
  };
}

/**
 * Every session id (windows' and those with events), in SQLite's order, each once; `events` when it has events.
 * The ids with events come one index seek each: a scan of them all would read every event's key (a tenth of a
 * second on a bot's database, every day).
 */
function* sessionIds(db, layout) {
  const first = db.prepare(
    "SELECT session_id FROM transcript_events WHERE session_id IS NOT NULL ORDER BY session_id LIMIT 1",
  );
  const next = db.prepare(
    "SELECT session_id FROM transcript_events WHERE session_id > ? ORDER BY session_id LIMIT 1",
  );
  const windows =
    layout === "A"
      ? [][Symbol.iterator]()
      : db.prepare("SELECT session_id FROM session_windows ORDER BY session_id").iterate();
  let event = first.get()?.session_id;
  let window = windows.next();
  while (event !== undefined || !window.done) {
    const id = window.done ? undefined : window.value.session_id;
    // Valid ids are ASCII, where this order is SQLite's; any other id fails the caller's SESSION_ID check.
    if (event === undefined || (id !== undefined && id !== event && event > id)) {
      yield { id, events: false };
      window = windows.next();
      continue;
    }
    yield { id: event, events: true };
    if (id === event) window = windows.next();
    event = next.get(event)?.session_id;
  }
}

async function* coldBytes(cold) {
  if (cold.storage === "sqlite") {
    yield* decodeBlob(cold.archive_blob, true);
  } else {
    yield* fileBytes(cold.path, cold.path.endsWith(".zst"));
  }
}

async function* decodeBlob(blob, zstd) {
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (!zstd) {
    for (let at = 0; at < bytes.length; at += CHUNK) yield bytes.subarray(at, at + CHUNK);
    return;
  }
  const stream = zlib.createZstdDecompress();
  stream.end(bytes);
  for await (const chunk of stream) yield chunk;
}

async function* fileBytes(path, zstd, size) {
  if (zstd) {
    const stream = createReadStream(path).pipe(zlib.createZstdDecompress());
    for await (const chunk of stream) yield chunk;
    return;
  }
  // A plain file is sent as its first `size` bytes (measured once, before the first pass), padded with NULs if it
  // shrank meanwhile so the framing holds (the hash then no longer matches and the local side rejects the run).
  const fd = openSync(path, "r");
  try {
    let left = size ?? statSync(path).size;
    const buf = Buffer.alloc(CHUNK);
    while (left > 0) {
      const n = readSync(fd, buf, 0, Math.min(CHUNK, left), null);
      if (n === 0) {
        yield Buffer.alloc(left);
        return;
      }
      yield buf.subarray(0, n);
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// What to send

function collect(db, detected, paths, filter, agent) {
  const { layout, tables } = detected;
  const records = []; // { name, produce, origin }
  const taken = new Map(); // name → record
  const add = (name, produce, origin) => {
    if (!safeName(name))
      fail(`${origin} would be written under the unsafe file name ${JSON.stringify(shown(name))}`);
    records.push({ name, produce, origin });
    taken.set(name, records[records.length - 1]);
  };

  if (filter.database("sessions.json")) add("sessions.json", indexRecord(db, layout), "the session index");

  // Transcript generations: every session id that has events (or a cold archive).
  const cold = new Map();
  if (tables.has("session_transcript_cold_archives")) {
    for (const row of db
      .prepare("SELECT * FROM session_transcript_cold_archives ORDER BY session_id")
      .iterate()) {
      const entry = { ...row };
      if (entry.storage === "file") {
        if (!safeName(entry.archive_name))
          fail(`cold archive name ${JSON.stringify(entry.archive_name)} is not a plain file name`);
        entry.path = join(paths.sessions, "cold", entry.archive_name);
        sources.push(entry.path);
        if (!existsSync(entry.path))
          fail(`the cold archive of session ${row.session_id} is missing: ${entry.path}`);
      }
      cold.set(row.session_id, entry);
    }
  }
  const hasEvents = db.prepare("SELECT 1 AS one FROM transcript_events WHERE session_id = ? LIMIT 1");
  for (const { id, events } of sessionIds(db, layout)) {
    if (!events && !cold.has(id) && !hasEvents.get(id)) continue; // a window nothing was written to yet
    if (typeof id !== "string" || !SESSION_ID.test(id))
      fail(`session id ${JSON.stringify(id)} is not a valid transcript file name`);
    const name = `${id}.jsonl`;
    if (!filter.database(name)) continue;
    if (taken.has(name)) fail(`two transcript generations map to the same file name ${name}`);
    add(name, transcriptRecord(db, layout, id, cold.get(id)), `transcript ${id}`);
  }

  // Archived generations stored in the database.
  if (tables.has("session_transcript_archives")) {
    const sql =
      "SELECT session_id, generation, encoding, archive_name, archive_sha256, length(archive_blob) AS bytes " +
      "FROM session_transcript_archives ORDER BY created_at, session_id, generation";
    const blob = db.prepare(
      "SELECT archive_blob FROM session_transcript_archives WHERE session_id = ? AND generation = ?",
    );
    for (const row of db.prepare(sql).iterate()) {
      const zstd = row.encoding === "zstd";
      if (!zstd && row.encoding !== "identity")
        fail(`archive ${row.archive_name} has unknown encoding ${row.encoding}`);
      const archiveName = fromText(row.archive_name);
      const name = zstd && archiveName.endsWith(".zst") ? archiveName.slice(0, -4) : archiveName;
      if (!filter.database(name)) continue;
      if (taken.has(name)) fail(`archive ${row.archive_name} has the same file name as another record`);
      add(
        name,
        async function* () {
          const stored = blob.get(row.session_id, row.generation).archive_blob;
          const sum = createHash("sha256").update(stored).digest("hex");
          if (sum !== row.archive_sha256)
            fail(`archive ${row.archive_name} does not match its recorded sha256`);
          yield* decodeBlob(stored, zstd);
        },
        `archive ${row.archive_name}`,
      );
    }
  }

  // File-era leftovers still in sessions/ (archives kept by the migration, published archives, .zst deleted ones).
  const leftovers = [];
  if (existsSync(paths.sessions)) {
    for (const entry of readdirSync(paths.sessions, { withFileTypes: true, encoding: "buffer" })
      .map((e) => ({ entry: e, name: e.name.toString("latin1") }))
      .sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (!readable(entry.entry, pathOf(paths.sessions, entry.name), entry.name)) continue;
      const zstd = entry.name.endsWith(".zst");
      const name = zstd ? entry.name.slice(0, -4) : entry.name;
      if (!filter.leftover(name)) continue;
      leftovers.push({
        name,
        path: pathOf(paths.sessions, entry.name),
        zstd,
        origin: `sessions/${shown(entry.name)}`,
      });
    }
  }
  // What the migration moved to session-sqlite-import-archive/: `archive-tier.<name>.imported-<ms>` (moved without
  // importing: that history exists nowhere else), `<keyslug>.<name>.imported-<ms>` (imported; the original bytes,
  // sent unless the database's transcript already starts with all of its complete lines) and
  // `legacy-store.sessions.json.imported-<ms>` (the file-era index, sent as sessions.json.bak.<ms>).
  if (existsSync(paths.importArchive)) {
    const original = migrationSourceNames(paths, agent);
    for (const entry of readdirSync(paths.importArchive, { withFileTypes: true, encoding: "buffer" })
      .map((e) => ({ entry: e, name: e.name.toString("latin1") }))
      .sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const m = /^(.+?)\.(.+)\.imported-(\d+)$/s.exec(entry.name);
      if (!m || !readable(entry.entry, pathOf(paths.importArchive, entry.name), entry.name)) continue;
      const movedAt = Number(m[3]);
      let name = original.get(entry.name) ?? m[2];
      if (m[1] === "legacy-store" && name === "sessions.json") name = `sessions.json.bak.${movedAt}`;
      const zstd = name.endsWith(".zst");
      if (zstd) name = name.slice(0, -4);
      if (!filter.leftover(name)) continue;
      leftovers.push({
        name,
        path: pathOf(paths.importArchive, entry.name),
        zstd,
        origin: `session-sqlite-import-archive/${shown(entry.name)}`,
        movedAt,
      });
    }
  }
  for (const file of leftovers) {
    sources.push(file.path);
    const size = file.zstd ? undefined : statSync(file.path).size;
    const produce = () => fileBytes(file.path, file.zstd, size);
    let name = file.name;
    if (taken.has(name)) {
      const base = /^(.*?\.jsonl)/s.exec(name)?.[1] ?? name;
      const ms = file.movedAt ?? Math.floor(statSync(file.path).mtimeMs);
      name = `${base}.bak.${archiveStamp(ms)}`;
      for (let n = 1; taken.has(name); n++) name = `${base}.bak.${archiveStamp(ms + n)}`;
      records.push({ name, produce, origin: file.origin, sameAs: file.name });
    } else {
      records.push({ name, produce, origin: file.origin });
    }
    taken.set(name, records[records.length - 1]);
  }
  return records;
}

/** archive-tier file name → the file name it had in sessions/, from the migration manifests. */
function migrationSourceNames(paths, agent) {
  const names = new Map();
  if (!existsSync(paths.migrationRuns)) return names;
  for (const file of readdirSync(paths.migrationRuns).sort()) {
    if (!file.endsWith(".json")) continue;
    sources.push(join(paths.migrationRuns, file));
    let manifest;
    try {
      manifest = JSON.parse(readFileSync(join(paths.migrationRuns, file), "utf8"));
    } catch {
      continue; // a manifest being written; the fallback name is still correct for plain names
    }
    for (const target of manifest?.targets ?? []) {
      for (const move of [...(target.completedMoves ?? []), ...(target.plannedMoves ?? [])]) {
        if (typeof move?.archivePath !== "string" || typeof move?.sourcePath !== "string") continue;
        const archived = move.archivePath.split(/[\\/]/);
        const source = move.sourcePath.split(/[\\/]/).pop();
        // The manifest has the paths the gateway saw; match on the agent's folder and the file name.
        if (archived.at(-2) === "session-sqlite-import-archive" && archived.at(-3) === agent && source)
          names.set(fromText(archived.at(-1)), fromText(source));
      }
    }
  }
  return names;
}

// ---------------------------------------------------------------------------------------------------------------
// Output

/**
 * Size and sha256 of a record's bytes (of its first `limit` bytes when given); with `prefixAt`, also the sha256
 * of the first `prefixAt` bytes (`prefix`, when the record is that long), from the same pass.
 */
async function measure(record, limit = Infinity, prefixAt = undefined) {
  const hash = createHash("sha256");
  let size = 0;
  let prefix;
  for await (const chunk of record.produce()) {
    const piece = size + chunk.length > limit ? chunk.subarray(0, limit - size) : chunk;
    if (prefixAt !== undefined && prefix === undefined && size + piece.length >= prefixAt) {
      hash.update(piece.subarray(0, prefixAt - size));
      prefix = hash.copy().digest("hex");
      hash.update(piece.subarray(prefixAt - size));
    } else hash.update(piece);
    size += piece.length;
    if (size >= limit) break;
  }
  return { size, sha256: hash.digest("hex"), prefix };
}

// ---------------------------------------------------------------------------------------------------------------
// The incremental protocol (the local side's half is scripts/lib/openclaw/known.mts; both must agree)

/** `=HEXNAME:OFFSET:SHA256` (fetch mode): a record by its name, from OFFSET when its first bytes hash to SHA256. */
function parseRequest(arg) {
  const m = /^=((?:[0-9a-f]{2})+):(\d+):([0-9a-f]{64}|-)$/.exec(arg);
  if (!m) fail(`request ${JSON.stringify(arg.slice(0, 80))} is not =HEXNAME:OFFSET:SHA256`);
  return { hex: m[1], name: Buffer.from(m[1], "hex").toString("latin1"), offset: Number(m[2]), sha256: m[3] };
}

/** `%BUCKETS:DIGESTS` (manifest mode): what the backup holds, as one 16-hex digest per bucket of names. */
function parseKnown(arg) {
  const m = /^%(\d+):([0-9a-f]*)$/.exec(arg);
  const buckets = m ? Number(m[1]) : 0;
  if (!m || buckets < 1 || buckets > 65536 || (buckets & (buckets - 1)) !== 0 || m[2].length !== buckets * 16)
    fail("the %known argument is not %BUCKETS:DIGESTS (a power of two, 16 hex digits per bucket)");
  return { buckets, digests: Array.from({ length: buckets }, (_, i) => m[2].slice(i * 16, i * 16 + 16)) };
}

/** A name's bucket: the first four bytes of sha256(name), modulo the (power of two) bucket count. */
function bucketOf(nameBytes, buckets) {
  return createHash("sha256").update(nameBytes).digest().readUInt32BE(0) & (buckets - 1);
}

/** A record's line in its bucket: `<hexname> <size> <sha256>\n`. */
function bucketLine(name, { size, sha256 }) {
  return `${bytesOf(name).toString("hex")} ${size} ${sha256}\n`;
}

/** A bucket's digest: sha256 of its sorted `<hexname> <size> <sha256>\n` lines, first 16 hex digits. */
function bucketDigest(lines) {
  const hash = createHash("sha256");
  for (const line of [...lines].sort()) hash.update(line);
  return hash.digest("hex").slice(0, 16);
}

/** About eight files per bucket, 1 to 1,024 buckets: the count the local side uses for as many files. */
function bucketCount(files) {
  let buckets = 1;
  while (buckets < 1024 && buckets * 8 < files) buckets *= 2;
  return buckets;
}

/** `^IDENTITY.DIGESTS` (manifest, with %known): the `I stamp` of an earlier answer. */
function parseStamp(arg) {
  if (!/^\^[0-9a-f]{16}\.[0-9a-f]{16}$/.test(arg))
    fail("the ^stamp argument is not ^IDENTITY.DIGESTS (16 hex digits each)");
  return arg.slice(1);
}

/** The stamp's second half: every bucket's digest, hashed. */
function digestsHash(digests) {
  return createHash("sha256").update(digests.join("")).digest("hex").slice(0, 16);
}

/**
 * Each path's stat as a line (device, inode, size, mtime and ctime in ns; `-` when absent), and the newest of
 * those times (a stamp is only made when it is over 2 s old: a later write cannot keep both times then). With
 * `withoutCtime`, the ctime is left out: SQLite changes the WAL's on every connection it opens (its owner is set
 * again), while every write to it moves its mtime.
 */
function statLines(paths, withoutCtime = false) {
  let newest = 0n;
  const lines = paths.map((path) => {
    const hex = Buffer.from(path).toString("hex");
    let stat;
    try {
      stat = statSync(path, { bigint: true });
    } catch {
      return `- ${hex}`;
    }
    const ctime = withoutCtime ? 0n : stat.ctimeNs;
    for (const ns of [stat.mtimeNs, ctime]) if (ns > newest) newest = ns;
    return `${stat.dev} ${stat.ino} ${stat.size} ${stat.mtimeNs} ${ctime} ${hex}`;
  });
  return { lines, newest };
}

/**
 * The database and its WAL (not the -shm: an index SQLite rebuilds from the WAL), stat'ed before the snapshot.
 * The WAL counts as a minute newer than it is: a commit writes its frames (the mtime moves) before readers can
 * see it (the -shm's index is updated after the sync to disk), and a writer stalled in between must not leave a
 * stamp that claims the frames were read.
 */
function databaseStat(paths) {
  const db = statLines([paths.db]);
  const wal = statLines([`${paths.db}-wal`], true);
  const walNewest = wal.newest ? wal.newest + WAL_QUIET_NS : 0n;
  return { lines: [...db.lines, ...wal.lines], newest: db.newest > walNewest ? db.newest : walNewest };
}
const WAL_QUIET_NS = 60_000_000_000n;

/**
 * What the export read, as one hash: the database's stat from before the snapshot, then the folders and files
 * collect() read (`sources`), the agent, the patterns and Node's version (what else decides the output).
 */
function identityOf(database, paths, agent, patterns) {
  const rest = statLines([
    paths.sessions,
    join(paths.sessions, "cold"),
    paths.importArchive,
    paths.migrationRuns,
    ...sources,
  ]);
  const text = [process.version, agent, ...patterns, ...database.lines, ...rest.lines].join("\n");
  return {
    text,
    hash: createHash("sha256").update(text).digest("hex").slice(0, 16),
    newest: database.newest > rest.newest ? database.newest : rest.newest,
  };
}

/** Size and sha256 of a record up to and including its last newline. */
async function completeLines(record) {
  let end = 0;
  let size = 0;
  for await (const chunk of record.produce()) {
    const at = chunk.lastIndexOf(10);
    if (at >= 0) end = size + at + 1;
    size += chunk.length;
  }
  return measure(record, end);
}

async function main() {
  const [mode, stateDir, agent, ...rest] = process.argv.slice(2);
  if (mode !== "manifest" && mode !== "stream" && mode !== "fetch")
    fail(`unknown mode ${JSON.stringify(mode ?? "")} (use manifest, stream or fetch)`);
  if (!stateDir || !agent)
    fail("usage: node export-sqlite.mjs MODE STATE_DIR AGENT [+include|-exclude|=request|%known]...");
  if (!safeName(agent)) fail(`agent id ${JSON.stringify(agent)} is not a plain folder name`);
  const patterns = rest.filter((p) => /^[+-]./.test(p));
  const requests = rest.filter((p) => p.startsWith("=")).map(parseRequest);
  const knownArgs = rest.filter((p) => p.startsWith("%"));
  const stampArgs = rest.filter((p) => p.startsWith("^"));
  const badPattern = rest.find((p) => !/^[+-=%^]./.test(p));
  if (badPattern !== undefined)
    fail(`argument ${JSON.stringify(badPattern)} must start with +, -, =, % or ^`);
  if (requests.length && mode !== "fetch") fail("=requests are for fetch mode only");
  if (knownArgs.length > 1 || (knownArgs.length && mode !== "manifest"))
    fail("one %known argument, in manifest mode only");
  const known = knownArgs.length ? parseKnown(knownArgs[0]) : undefined;
  if (stampArgs.length > 1 || (stampArgs.length && !known)) fail("one ^stamp argument, with %known only");
  const stamp = stampArgs.length ? parseStamp(stampArgs[0]) : undefined;

  let sqlite;
  try {
    sqlite = await import("node:sqlite");
  } catch {
    fail(`Node ${process.version} on the bot has no node:sqlite module (needs Node 22.5 or later)`);
  }
  const agentDir = join(stateDir, "agents", agent);
  const paths = {
    db: join(agentDir, "agent", "openclaw-agent.sqlite"),
    sessions: join(agentDir, "sessions"),
    importArchive: join(agentDir, "session-sqlite-import-archive"),
    migrationRuns: join(stateDir, "session-sqlite-migration-runs"),
  };
  if (!existsSync(paths.db)) fail(`no SQLite database at ${paths.db} (a file-era bot, or another agent id?)`);

  // Open: a live database (it has -wal/-shm) read-only; a closed one immutable, so SQLite creates nothing beside it.
  const live = existsSync(`${paths.db}-wal`) || existsSync(`${paths.db}-shm`);
  const before = statSync(paths.db);
  // Before the snapshot: a commit after this point changes an mtime the stamp compares (see identityOf).
  const started = Date.now();
  const database = databaseStat(paths);
  let db;
  try {
    if (live) {
      db = new sqlite.DatabaseSync(paths.db, { readOnly: true });
    } else {
      const url = pathToFileURL(paths.db);
      url.searchParams.set("mode", "ro");
      url.searchParams.set("immutable", "1");
      db = new sqlite.DatabaseSync(url, { readOnly: true });
    }
  } catch (error) {
    fail(`cannot open ${paths.db} read-only: ${error.message}`);
  }
  try {
    await exportSnapshot(db, {
      mode,
      agent,
      patterns,
      requests,
      known,
      stamp,
      paths,
      live,
      before,
      started,
      database,
    });
  } finally {
    try {
      db.close();
    } catch {
      // closing after a failed read; nothing to keep
    }
  }
}

async function exportSnapshot(
  db,
  { mode, agent, patterns, requests, known, stamp, paths, live, before, started, database },
) {
  db.exec("BEGIN");
  // The first read fixes the snapshot every later statement of this transaction sees. Failures up to the first
  // byte of output exit with a sentence and no stream at all.
  const detected = detectLayout(db);
  if (detected.layout === "C" && typeof zlib.zstdDecompressSync !== "function") {
    fail(
      `layout C stores events zstd-compressed, and Node ${process.version} on the bot has no zstd (needs 22.15 or later)`,
    );
  }
  const records = collect(db, detected, paths, makeFilter(patterns), agent);
  const identity = identityOf(database, paths, agent, patterns);

  const out = zlib.createGzip({ level: 1 });
  out.pipe(process.stdout);
  // Each write waits until gzip has consumed the chunk: producers reuse their buffers (see batched), and at most
  // one chunk is in flight.
  const write = (data) =>
    new Promise((resolve, reject) => out.write(data, (error) => (error ? reject(error) : resolve())));
  let status = 0;
  let count = 0;
  try {
    await write(`OCSYNC 2 ${mode}\n`);
    const info = [
      ["era", "sqlite"],
      ["layout", detected.layout],
      ["user_version", detected.userVersion],
      ["schema_version", detected.meta.schema_version],
      ["app_version", detected.meta.app_version],
      ["agent_id", detected.meta.agent_id],
      ["node", process.version],
      ["snapshot", live ? "wal" : "immutable"],
    ];
    for (const [key, value] of info) {
      if (value !== undefined && value !== null)
        await write(`I ${key} ${String(value).replace(/\s+/g, "_")}\n`);
    }
    for (const entry of skippedEntries)
      await write(`S ${bytesOf(entry.name).toString("hex")} ${entry.why}\n`);
    const measured = new Map();
    const measureOnce = async (record) => {
      if (!measured.has(record.name)) measured.set(record.name, await measure(record));
      return measured.get(record.name);
    };
    // A leftover whose name the database already uses is skipped when the database's bytes start with all of the
    // leftover's complete lines (the same transcript, maybe without an unfinished last line).
    const redundant = async (record) => {
      if (!record.sameAs) return false;
      const twin = records.find((r) => r.name === record.sameAs);
      const lines = await completeLines(record);
      return Boolean(twin && lines.size > 0 && (await measure(twin, lines.size)).sha256 === lines.sha256);
    };
    /** The record's bytes from `from` on (its first `size` bytes in all), checked against `sha256` once more. */
    const send = async (record, { size: total, sha256 }, from = 0) => {
      const hash = createHash("sha256");
      let size = 0;
      for await (const chunk of record.produce()) {
        const piece = size + chunk.length > total ? chunk.subarray(0, total - size) : chunk;
        hash.update(piece);
        const start = Math.max(0, from - size);
        size += piece.length;
        if (piece.length > start) await write(start ? piece.subarray(start) : piece);
      }
      if (size < total) await write(Buffer.alloc(total - Math.max(size, from))); // keep the framing
      await write("\n");
      if (size < total || hash.digest("hex") !== sha256) {
        process.stderr.write(`ocsync-error: ${record.origin} changed while it was being sent\n`);
        return false;
      }
      return true;
    };
    if (mode === "fetch") {
      // Exactly the named records, in the order asked; with an offset, only the bytes after it when the record
      // still starts with what the backup holds (the sha256 of its first `offset` bytes).
      const byName = new Map(records.map((r) => [r.name, r]));
      for (const request of requests) {
        const record = byName.get(request.name);
        if (!record || (await redundant(record))) {
          await write(`G ${request.hex}\n`);
          continue;
        }
        const whole = await measure(record, Infinity, request.offset || undefined);
        const append = request.offset > 0 && whole.size >= request.offset && whole.prefix === request.sha256;
        await write(
          append
            ? `P ${request.offset} ${whole.size} ${whole.sha256} ${request.hex}\n`
            : `F ${whole.size} ${whole.sha256} ${request.hex}\n`,
        );
        if (!(await send(record, whole, append ? request.offset : 0))) {
          status = 4;
          break;
        }
        count++;
      }
      records.length = 0;
    }
    let listed = records;
    /** Every bucket's digest over everything measured, for the stamp (undefined: no stamp). */
    let digests;
    const unread = mode === "manifest" && known && stamp === `${identity.hash}.${digestsHash(known.digests)}`;
    if (unread) {
      // Nothing the export reads changed since the answer whose stamp this is, and the backup holds what that
      // answer found: every bucket matches, and nothing is read.
      const matched = Buffer.alloc(Math.ceil(known.buckets / 8));
      for (let bucket = 0; bucket < known.buckets; bucket++) matched[bucket >> 3] |= 1 << (bucket & 7);
      await write(`I buckets ${known.buckets}\nI matched ${matched.toString("hex")}\nI stamp ${stamp}\n`);
      listed = [];
    } else if (mode === "manifest" && known) {
      // Only the buckets whose digest differs from the backup's are listed (an idle day lists nothing); the
      // others are named in `I matched`, so the local side takes their files from its own record.
      const buckets = Array.from({ length: known.buckets }, () => []);
      let last = Date.now();
      listed = [];
      for (const record of records) {
        if (await redundant(record)) continue;
        buckets[bucketOf(bytesOf(record.name), known.buckets)].push({
          record,
          line: bucketLine(record.name, await measureOnce(record)),
        });
        if (Date.now() - last > 5000) {
          // Nothing else travels until every record is measured: keep the idle timeout from firing.
          last = Date.now();
          await write(`I measured ${measured.size}\n`);
          await new Promise((resolve) => out.flush(resolve));
        }
      }
      const matched = Buffer.alloc(Math.ceil(known.buckets / 8));
      digests = buckets.map((entries) => bucketDigest(entries.map((e) => e.line)));
      buckets.forEach((entries, bucket) => {
        if (digests[bucket] === known.digests[bucket]) matched[bucket >> 3] |= 1 << (bucket & 7);
        else listed.push(...entries.map((e) => Object.assign(e.record, { checked: true })));
      });
      await write(`I buckets ${known.buckets}\nI matched ${matched.toString("hex")}\n`);
    }
    for (const record of listed) {
      if (!record.checked && (await redundant(record))) continue;
      const first = await measureOnce(record);
      await write(`F ${first.size} ${first.sha256} ${bytesOf(record.name).toString("hex")}\n`);
      if (mode === "stream" && !(await send(record, first))) {
        status = 4;
        break;
      }
      count++;
    }
    if (mode !== "fetch") await write(`I hashed ${measured.size}\n`);
    if (status === 0 && mode !== "fetch" && !unread) {
      // The stamp: what this answer found (every bucket's digest, with the bucket count the local side will use
      // for as many files) under the stat it was read with, when no mtime is recent enough for a later write to
      // keep it, and nothing changed while it was read.
      if (!digests) {
        const buckets = Array.from({ length: bucketCount(measured.size) }, () => []);
        for (const [name, sums] of measured)
          buckets[bucketOf(bytesOf(name), buckets.length)].push(bucketLine(name, sums));
        digests = buckets.map(bucketDigest);
      }
      const after = identityOf(databaseStat(paths), paths, agent, patterns);
      if (after.text === identity.text && identity.newest < (BigInt(started) - 2000n) * 1000000n)
        await write(`I stamp ${identity.hash}.${digestsHash(digests)}\n`);
    }
    db.exec("COMMIT");
    if (!live && status === 0) {
      const after = statSync(paths.db);
      if (
        existsSync(`${paths.db}-wal`) ||
        after.size !== before.size ||
        after.mtimeMs !== before.mtimeMs ||
        after.ino !== before.ino
      ) {
        status = 5;
        process.stderr.write(
          "ocsync-error: the database changed while it was read (the gateway started); run the sync again\n",
        );
      }
    }
  } catch (error) {
    status = error instanceof ExportError ? 3 : 4;
    process.stderr.write(
      `ocsync-error: ${error instanceof ExportError ? error.message : `export failed: ${error?.message ?? error}`}\n`,
    );
  }
  await write(`E ${status} ${count}\n`);
  out.end();
  await once(out, "end");
  await new Promise((resolve) => process.stdout.write("", resolve));
  process.exitCode = status;
}

main().catch((error) => {
  process.stderr.write(
    `ocsync-error: ${error instanceof ExportError ? error.message : `export failed: ${error?.message ?? error}`}\n`,
  );
  process.exitCode = 3;
});
