// bench-sqlite-db.mjs: writes a SQLite-era (layout B, user_version 20) OpenClaw agent database for the bench:
// one big transcript and many small ones, deterministic content. Runs under Node >= 22.5 (node:sqlite).
// Usage: node scripts/dev/bench-sqlite-db.mjs STATE_DIR TOTAL_MB BIG_MB SESSIONS
// With an existing database it appends a "normal day" instead: APPEND=1 env adds ~1 % new lines to 5 % of the
// sessions and 10 new sessions (the day profile).
import { proseMaker } from "./bench-text.mjs";
import { DatabaseSync } from "node:sqlite";
import { mkdirSync, existsSync } from "node:fs";
import { join } from "node:path";

const [stateDir, totalMb, bigMb, sessionCount] = process.argv.slice(2);
const dbPath = join(stateDir, "agents", "main", "agent", "openclaw-agent.sqlite");
mkdirSync(join(stateDir, "agents", "main", "agent"), { recursive: true });
mkdirSync(join(stateDir, "agents", "main", "sessions"), { recursive: true });
const fresh = !existsSync(dbPath);
const db = new DatabaseSync(dbPath);

let seed = 42 + (fresh ? 0 : Date.now() % 1000);
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const words = proseMaker(random);
const t0 = Date.parse("2026-11-01T00:00:00.000Z");
function event(id, seq) {
  const role = seq % 2 ? "assistant" : "user";
  return JSON.stringify({
    type: "message",
    id: `${id.slice(0, 8)}-${seq}`,
    timestamp: new Date(t0 + seq * 1000).toISOString(),
    message: { role, content: [{ type: "text", text: words(20 + Math.floor(random() * 200)) }] },
  });
}
const header = (id) =>
  JSON.stringify({ type: "session", version: 3, id, timestamp: new Date(t0).toISOString(), cwd: "/data" });
const sessionId = (n) => `0b7c1e2a-0000-4000-a000-${String(n).padStart(12, "0")}`;

if (fresh) {
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA user_version = 20;
    CREATE TABLE session_nodes (session_key TEXT NOT NULL PRIMARY KEY, current_session_id TEXT NOT NULL, entry_json TEXT NOT NULL,
      updated_at INTEGER NOT NULL, status TEXT) STRICT;
    CREATE TABLE session_windows (session_id TEXT NOT NULL PRIMARY KEY, session_key TEXT NOT NULL, previous_session_id TEXT,
      reason TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL) STRICT;
    CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT NOT NULL,
      created_at INTEGER NOT NULL, PRIMARY KEY (session_id, seq)) STRICT;`);
}
const node = db.prepare("INSERT OR REPLACE INTO session_nodes VALUES (?, ?, ?, ?, NULL)");
const windowRow = db.prepare("INSERT OR IGNORE INTO session_windows VALUES (?, ?, NULL, 'initial', ?, ?)");
const insert = db.prepare("INSERT INTO transcript_events VALUES (?, ?, ?, ?)");
const last = db.prepare("SELECT max(seq) AS seq FROM transcript_events WHERE session_id = ?");

function addSession(n, bytes) {
  const id = sessionId(n);
  const key = `agent:main:s${n}`;
  node.run(key, id, JSON.stringify({ sessionId: id, updatedAt: t0 + n, chatType: "direct" }), t0 + n);
  windowRow.run(id, key, t0, t0);
  let written = 0;
  let seq = 0;
  insert.run(id, seq++, header(id), t0);
  while (written < bytes) {
    const line = event(id, seq);
    insert.run(id, seq++, line, t0 + seq);
    written += line.length + 1;
  }
}

db.exec("BEGIN");
const count = Number(sessionCount);
if (fresh) {
  const big = Number(bigMb) * 1e6;
  const rest = Math.max(0, Number(totalMb) * 1e6 - big);
  if (big > 0) addSession(0, big);
  for (let n = 1; n <= count; n++) addSession(n, rest / count);
} else {
  // a normal day: ~1 % more lines in 5 % of the sessions, 10 new sessions of average size
  const total = Number(totalMb) * 1e6;
  for (let n = 1; n <= count; n++) {
    if (random() >= 0.05) continue;
    const id = sessionId(n);
    let seq = Number(last.get(id)?.seq ?? -1) + 1;
    let added = 0;
    while (added < total / count / 100) {
      const line = event(id, seq);
      insert.run(id, seq++, line, t0 + seq);
      added += line.length + 1;
    }
  }
  const next = Number(db.prepare("SELECT count(*) AS n FROM session_nodes").get().n) + 1;
  for (let n = next; n < next + 10; n++) addSession(n, total / count);
}
db.exec("COMMIT");
db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
db.close();
