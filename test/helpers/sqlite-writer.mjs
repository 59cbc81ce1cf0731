// Writes a SQLite-era OpenClaw agent database from a JSON spec on stdin (see sqlitestate.mts, which builds the spec
// and knows what the export must give back). Runs under Node 24 from .tools (node:sqlite, zstd); the suite itself
// runs on Node 20. Tables and columns are those of layouts A, B and C (docs/sqlite-era.md), with the constraints
// that matter to a reader (STRICT, primary keys).
//
// With spec.walOnly, the events listed there are committed one transaction each after the rest has been
// checkpointed into the main file, and then this process SIGKILLs itself: no checkpoint on close, so those events
// live only in the -wal file, as after a gateway crash or while a gateway is running.
import { DatabaseSync } from "node:sqlite";
import { readFileSync, writeFileSync } from "node:fs";
import zlib from "node:zlib";

const spec = JSON.parse(readFileSync(0, "utf8"));
const { layout } = spec;
const strict = layout === "A" ? "" : " STRICT";

const SCHEMA = {
  A: `
    CREATE TABLE session_routes (session_key TEXT NOT NULL PRIMARY KEY, session_id TEXT NOT NULL, updated_at INTEGER NOT NULL);
    CREATE TABLE session_entries (session_key TEXT NOT NULL PRIMARY KEY, session_id TEXT NOT NULL, entry_json TEXT NOT NULL,
      updated_at INTEGER NOT NULL, status TEXT);
    CREATE TABLE sessions (session_id TEXT NOT NULL PRIMARY KEY, session_key TEXT NOT NULL, created_at INTEGER, updated_at INTEGER);
    CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT NOT NULL,
      created_at INTEGER NOT NULL, PRIMARY KEY (session_id, seq));`,
  B: `
    CREATE TABLE session_nodes (session_key TEXT NOT NULL PRIMARY KEY, current_session_id TEXT NOT NULL, entry_json TEXT NOT NULL,
      updated_at INTEGER NOT NULL, status TEXT)${strict};
    CREATE TABLE session_windows (session_id TEXT NOT NULL PRIMARY KEY, session_key TEXT NOT NULL, previous_session_id TEXT,
      reason TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)${strict};
    CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT NOT NULL,
      created_at INTEGER NOT NULL, PRIMARY KEY (session_id, seq))${strict};`,
  C: `
    CREATE TABLE session_nodes (session_key TEXT NOT NULL PRIMARY KEY, current_session_id TEXT NOT NULL, entry_json TEXT NOT NULL,
      updated_at INTEGER NOT NULL, status TEXT)${strict};
    CREATE TABLE session_windows (session_id TEXT NOT NULL PRIMARY KEY, session_key TEXT NOT NULL, previous_session_id TEXT,
      reason TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)${strict};
    CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT, created_at INTEGER NOT NULL,
      event_zstd BLOB, event_utf8_bytes INTEGER, navigation_json TEXT, PRIMARY KEY (session_id, seq),
      CHECK ((event_json IS NOT NULL AND event_zstd IS NULL) OR (event_json IS NULL AND event_zstd IS NOT NULL AND event_utf8_bytes IS NOT NULL)))${strict};`,
};
const ARCHIVES = `
  CREATE TABLE session_transcript_archives (session_id TEXT NOT NULL, generation TEXT NOT NULL, session_key TEXT NOT NULL,
    reason TEXT NOT NULL CHECK (reason IN ('deleted', 'reset')), encoding TEXT NOT NULL CHECK (encoding IN ('identity', 'zstd')),
    archive_blob BLOB NOT NULL, archive_sha256 TEXT NOT NULL, archive_name TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL,
    published_at INTEGER, PRIMARY KEY (session_id, generation))${strict};`;
const META = `
  CREATE TABLE schema_meta (meta_key TEXT NOT NULL PRIMARY KEY, role TEXT NOT NULL, schema_version INTEGER NOT NULL,
    agent_id TEXT, app_version TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)${strict};`;

for (const file of spec.zstdFiles ?? [])
  writeFileSync(file.path, zlib.zstdCompressSync(Buffer.from(file.base64, "base64")));

const db = new DatabaseSync(spec.dbPath);
db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;");
db.exec(SCHEMA[layout] + (layout === "A" ? "" : ARCHIVES) + META);
db.exec(`PRAGMA user_version = ${spec.userVersion}`);
db.prepare("INSERT INTO schema_meta VALUES ('primary', 'agent', ?, ?, ?, 0, 0)").run(
  spec.userVersion,
  spec.agentId,
  spec.appVersion,
);

const insertEvent =
  layout === "C"
    ? (id, seq, line, t) => {
        const bytes = Buffer.from(line, "utf8");
        if (bytes.length >= 1024) {
          const nav = JSON.stringify({ version: 1, report: { kind: "canonical" } });
          db.prepare("INSERT INTO transcript_events VALUES (?, ?, NULL, ?, ?, ?, ?)").run(
            id,
            seq,
            t,
            zlib.zstdCompressSync(bytes),
            bytes.length,
            nav,
          );
        } else {
          db.prepare(
            "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
          ).run(id, seq, line, t);
        }
      }
    : (id, seq, line, t) =>
        db.prepare("INSERT INTO transcript_events VALUES (?, ?, ?, ?)").run(id, seq, line, t);

db.exec("BEGIN");
for (const session of spec.sessions) {
  const t = session.entry.updatedAt;
  if (layout === "A") {
    db.prepare("INSERT INTO session_entries VALUES (?, ?, ?, ?, NULL)").run(
      session.key,
      session.entry.sessionId,
      JSON.stringify(session.entry),
      t,
    );
    db.prepare("INSERT INTO session_routes VALUES (?, ?, ?)").run(session.key, session.entry.sessionId, t);
  } else {
    db.prepare("INSERT INTO session_nodes VALUES (?, ?, ?, ?, NULL)").run(
      session.key,
      session.entry.sessionId,
      JSON.stringify(session.entry),
      t,
    );
  }
  let previous = null;
  for (const window of session.windows) {
    if (layout === "A") {
      db.prepare("INSERT OR IGNORE INTO sessions VALUES (?, ?, ?, ?)").run(
        window.sessionId,
        session.key,
        t,
        t,
      );
    } else {
      db.prepare("INSERT INTO session_windows VALUES (?, ?, ?, ?, ?, ?)").run(
        window.sessionId,
        session.key,
        previous,
        previous ? "reset" : "initial",
        t,
        t,
      );
    }
    window.events.forEach((line, seq) => insertEvent(window.sessionId, seq, line, t + seq));
    previous = window.sessionId;
  }
}
for (const archive of spec.archives ?? []) {
  const bytes = Buffer.from(archive.base64, "base64");
  const blob = archive.encoding === "zstd" ? zlib.zstdCompressSync(bytes) : bytes;
  const sha = (await import("node:crypto")).createHash("sha256").update(blob).digest("hex");
  db.prepare("INSERT INTO session_transcript_archives VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)").run(
    archive.sessionId,
    archive.generation,
    archive.sessionKey,
    archive.reason,
    archive.encoding,
    blob,
    archive.corruptHash ? "0".repeat(64) : sha,
    archive.name,
    archive.createdAt,
  );
}
db.exec("COMMIT");
if (spec.dropColumn) db.exec(`ALTER TABLE ${spec.dropColumn.table} DROP COLUMN ${spec.dropColumn.column}`);

if (!spec.walOnly) {
  db.close(); // the last connection checkpoints and removes -wal/-shm: a database whose gateway is stopped
} else {
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const { sessionId, startSeq, events } = spec.walOnly;
  events.forEach((line, i) => {
    db.exec("BEGIN");
    insertEvent(sessionId, startSeq + i, line, Date.now());
    db.exec("COMMIT");
  });
  process.stdout.write("committed\n");
  process.kill(process.pid, "SIGKILL");
}
