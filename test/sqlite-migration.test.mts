// The real upgrade: a file-era state dir (scripts/dev/statedir.mts) migrated by the real OpenClaw 2026.9.6
// (`doctor --fix`, layout C), exported by export-sqlite.mjs on Node 24, and reconciled with a backup taken before
// the upgrade. Every complete line the file era had must come back byte for byte.
// Run: npx tsx test/run.mts sqlite
// test tier: full — the real OpenClaw 2026.9.6 and Node 24 from .tools
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeStateDir, type GeneratedStateDir } from "../scripts/dev/statedir.mts";
import {
  migrateWithOpenClaw,
  node24,
  runExporter,
  runNode24,
  type ExportResult,
} from "./helpers/sqlitestate.mts";
import { reconcileSqliteExport } from "../scripts/lib/openclaw/continuity.mts";
import type { StreamResult } from "../scripts/lib/remote/stream.mts";
import { tempDir } from "./helpers/tmp.mts";

const completeLines = (bytes: Buffer) => {
  const text = bytes.toString("utf8");
  return text.slice(0, text.lastIndexOf("\n") + 1);
};

describe("real migration (OpenClaw 2026.9.6 doctor --fix) → export", () => {
  const scratch = tempDir("migration");
  let generated: GeneratedStateDir;
  let fileEra: string;
  let exported: ExportResult;
  before(async () => {
    const state = join(scratch, "state");
    // A long user message (≥ 1 KiB) so the migration stores an event zstd-compressed.
    generated = makeStateDir(state, { plantedText: `pasted log: ${"0123456789abcdef".repeat(120)}` });
    fileEra = join(scratch, "file-era");
    cpSync(state, fileEra, { recursive: true });
    await migrateWithOpenClaw(state, join(scratch, "home"));
    exported = await runExporter(["stream", state, "main"]);
  });

  test("the database is layout C with compressed events, and the exporter says so", async () => {
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(exported.info.get("layout"), "C");
    assert.equal(exported.info.get("user_version"), "23");
    assert.equal(exported.info.get("app_version"), "2026.9.6");
    const probe = await runNode24(
      [
        "-e",
        `const {DatabaseSync}=require("node:sqlite");const db=new DatabaseSync(process.argv[1],{readOnly:true});` +
          `console.log(db.prepare("SELECT count(*) AS n FROM transcript_events WHERE event_zstd IS NOT NULL").get().n)`,
        join(scratch, "state", "agents", "main", "agent", "openclaw-agent.sqlite"),
      ],
      "",
    );
    assert.ok(
      Number(probe.stdout.toString()) > 0,
      `no compressed events in the migrated database (${probe.stderr})`,
    );
    assert.ok(node24());
  });

  test("every complete line of every backed-up file-era file comes back byte for byte", () => {
    const main = generated.agents.find((a) => a.id === "main")!;
    const outputs = [...exported.files.values()].map((b) => b.toString("utf8"));
    for (const name of main.backedUp) {
      const original = completeLines(readFileSync(join(fileEra, "agents", "main", "sessions", name)));
      if (name === "sessions.json") {
        // doctor canonicalizes keys in the old index before moving it aside: ids are what must survive.
        const index = JSON.parse(exported.files.get("sessions.json")!.toString("utf8")) as Record<
          string,
          { sessionId: string }
        >;
        const ids = new Set(Object.values(index).map((e) => e.sessionId.toLowerCase()));
        const old = JSON.parse(readFileSync(join(fileEra, "agents", "main", "sessions", name), "utf8"));
        for (const entry of Object.values(old) as { sessionId: string }[])
          assert.ok(ids.has(entry.sessionId.toLowerCase()));
        assert.ok(
          [...exported.files.keys()].some(
            (n) => /^sessions\.json\.bak\.\d+$/.test(n) && !main.backedUp.includes(n),
          ),
          "the legacy index",
        );
        continue;
      }
      if (name.startsWith("sessions.json.")) {
        const whole = readFileSync(join(fileEra, "agents", "main", "sessions", name)).toString("utf8");
        assert.ok(outputs.includes(whole), `${name} is not in the export`);
        continue;
      }
      assert.ok(original.length > 0, name);
      assert.ok(
        outputs.some((text) => text.startsWith(original)),
        `the complete lines of ${name} are not the start of any exported file`,
      );
    }
  });

  test("continuity: a backup taken before the upgrade stays one history", async () => {
    const main = generated.agents.find((a) => a.id === "main")!;
    // The file-era backup: what a file-era sync kept (complete lines only).
    const memory = join(scratch, "memory-sessions");
    mkdirSync(memory, { recursive: true });
    for (const name of main.backedUp) {
      const bytes = readFileSync(join(fileEra, "agents", "main", "sessions", name));
      writeFileSync(join(memory, name), name.endsWith(".jsonl") ? completeLines(bytes) : bytes);
    }
    const staging = join(scratch, "staging");
    mkdirSync(staging, { recursive: true });
    const staged: StreamResult = {
      mode: "stream",
      info: Object.fromEntries(exported.info),
      files: [],
      wireBytes: 0,
    };
    let i = 0;
    for (const [name, bytes] of exported.files) {
      const path = join(staging, `f${i++}`);
      writeFileSync(path, bytes);
      staged.files.push({
        name,
        size: bytes.length,
        sha256: createHash("sha256").update(bytes).digest("hex"),
        path,
      });
    }
    const report = await reconcileSqliteExport(staged, memory, { at: "2026-11-21T00:00:00.000Z" });
    const names = report.result.files.map((f) => f.name);
    const fork = main.sessions.find((s) => s.key.includes(":thread:"))!;
    assert.ok(names.includes(fork.files[0]), "the forked session keeps its file-era name");
    assert.ok(!names.includes(`${fork.sessionId}.jsonl`), "no second file for the forked session id");
    // After apply, memory = old files overwritten by staged ones: every old complete line is still somewhere.
    const after = new Map<string, string>();
    for (const name of readdirSync(memory)) after.set(name, readFileSync(join(memory, name), "utf8"));
    for (const file of report.result.files) after.set(file.name, readFileSync(file.path!, "utf8"));
    for (const name of main.backedUp.filter((n) => n.includes(".jsonl"))) {
      const lines = readFileSync(join(memory, name), "utf8").split("\n").filter(Boolean);
      const all = [...after.values()].join("\n");
      for (const line of lines) assert.ok(all.includes(line), `a line of ${name} is gone after the upgrade`);
    }
    // The headerless cron transcript was rewritten by the migration: reported, old version kept.
    const cron = main.sessions.find((s) => s.key.startsWith("cron:"))!;
    assert.ok(
      report.warnings.some((w) => w.startsWith(`${cron.sessionId}.jsonl:`)),
      report.warnings.join("\n"),
    );
    assert.ok(
      report.notes.some((n) => n.startsWith("sessions.json: ")),
      report.notes.join("\n"),
    );
  });
});
