// scripts/lib/restore/plan.mts: the decisions a restore makes before anything is sent, on hand-made backups and
// bots — what is added, skipped or renamed and why, --prefer, --sessions, --since, and that no updatedAt moves
// backwards. Run: npx tsx test/run.mts restore-plan
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  derivedId,
  planRestore,
  prefixRequests,
  type BackupFile,
  type BotFile,
  type Index,
  type PlanInput,
} from "../scripts/lib/restore/plan.mts";

const A = "aaaaaaaa-0000-4000-a000-000000000001";
const B = "bbbbbbbb-0000-4000-a000-000000000002";
const OWN = "cccccccc-0000-4000-a000-000000000003";
const DAY = 86_400_000;
const T = Date.parse("2026-11-01T00:00:00Z");

const file = (name: string, sha: string, lastActivity = T, size = 100): BackupFile => ({
  name,
  path: `/backup/${name}`,
  size,
  sha256: sha.repeat(64).slice(0, 64),
  lastActivity,
});
const botFile = (name: string, sha: string, size = 100): [string, BotFile] => [
  name,
  { name, size, sha256: sha.repeat(64).slice(0, 64) },
];

function input(
  overrides: Partial<PlanInput> & { botIndex?: Index; botFiles?: [string, BotFile][] } = {},
): PlanInput {
  const backupIndex: Index = {
    "agent:main:main": { sessionId: A, updatedAt: T, sessionFile: `/data/agents/main/sessions/${A}.jsonl` },
    "agent:main:telegram:group:-100": { sessionId: B, updatedAt: T - 20 * DAY },
    "agent:main:telegram:group:-100:topic:7": {
      sessionId: B,
      updatedAt: T - 20 * DAY,
      sessionFile: `${B}-topic-7.jsonl`,
    },
  };
  return {
    era: "files",
    agent: "main",
    prefer: "bot",
    backup: {
      index: backupIndex,
      files: [
        file(`${A}.jsonl`, "a"),
        file(`${B}.jsonl`, "b", T - 20 * DAY),
        file(`${B}-topic-7.jsonl`, "c", T - 20 * DAY),
        file(`${A}.jsonl.reset.2026-10-01T00-00-00.000Z`, "d", T - 30 * DAY),
      ],
    },
    bot: {
      index: overrides.botIndex ?? {},
      files: new Map(overrides.botFiles ?? []),
      prefixes: new Map(),
      sessionIds: new Set(),
    },
    ...overrides,
  };
}

describe("file era", () => {
  test("an empty bot gets every file under its own name and every key, with bare sessionFile names", () => {
    const plan = planRestore(input());
    assert.deepEqual(
      plan.files.map((f) => [f.name, f.action, f.target]),
      plan.files.map((f) => [f.name, "add", f.name]),
    );
    assert.equal(
      plan.index!["agent:main:main"].sessionFile,
      `${A}.jsonl`,
      "an absolute path would fork the history",
    );
    assert.equal(plan.index!["agent:main:telegram:group:-100"].sessionFile, undefined);
    assert.equal(Object.keys(plan.index!).length, 3);
  });

  test("same bytes are skipped; a copy the bot continued is skipped; other bytes go beside the bot's", () => {
    const plan = planRestore(
      input({
        botFiles: [
          botFile(`${A}.jsonl`, "a"),
          botFile(`${B}.jsonl`, "x", 150),
          botFile(`${B}-topic-7.jsonl`, "y", 150),
        ],
      }),
    );
    plan.files.forEach((f) => assert.ok(f.reason));
    assert.equal(plan.files.find((f) => f.name === `${A}.jsonl`)!.action, "skip");
    // The topic: the bot's copy is longer but does not start with the backup's bytes → beside it.
    const topic = plan.files.find((f) => f.name === `${B}-topic-7.jsonl`)!;
    assert.equal(topic.action, "rename");
    assert.match(topic.target!, /^[0-9a-f-]{36}-topic-7\.jsonl$/);
    assert.equal(
      plan.index!["agent:main:telegram:group:-100:topic:7"].sessionFile,
      topic.target,
      "the key (the bot has none) must point at the copy beside the bot's file",
    );
    // Asking for the prefix hashes, and a bot whose longer copy does start with the backup's bytes.
    const backupFiles = input().backup.files;
    const bot = new Map([botFile(`${B}.jsonl`, "x", 150)]);
    assert.deepEqual(prefixRequests(backupFiles, bot), [`${B}.jsonl:100`]);
    const continued = planRestore(
      input({
        bot: {
          index: {},
          files: bot,
          prefixes: new Map([[`${B}.jsonl`, "b".repeat(64)]]),
        },
      }),
    );
    assert.equal(continued.files.find((f) => f.name === `${B}.jsonl`)!.action, "skip");
    assert.match(continued.files.find((f) => f.name === `${B}.jsonl`)!.reason, /continues/);
  });

  test("a key the bot uses for its own session: kept (default), or displaced with --prefer backup; updatedAt never goes back", () => {
    const botIndex: Index = { "agent:main:main": { sessionId: OWN, updatedAt: T + 5 * DAY, label: "own" } };
    const keep = planRestore(input({ botIndex }));
    assert.equal(keep.index!["agent:main:main"].sessionId, OWN);
    assert.deepEqual(keep.index!["agent:main:main"], botIndex["agent:main:main"], "the bot's entry changed");
    assert.equal(keep.index![`agent:main:restore-displaced:${A}`].sessionId, A);
    const prefer = planRestore(input({ botIndex, prefer: "backup" }));
    assert.equal(prefer.index!["agent:main:main"].sessionId, A);
    assert.equal(prefer.index!["agent:main:main"].updatedAt, T + 5 * DAY, "updatedAt moved backwards");
    assert.deepEqual(prefer.index![`agent:main:restore-displaced:${OWN}`], botIndex["agent:main:main"]);
    // Done once, nothing more to do: the bot lists the backup's session under the displaced key.
    const again = planRestore(input({ botIndex: keep.index! }));
    assert.equal(again.index, undefined);
    assert.ok(again.keys.every((k) => k.action === "skip"));
  });

  test("--sessions picks keys (with their topics) or ids; --since picks by last activity", () => {
    const byKey = planRestore(input({ select: { sessions: ["agent:main:telegram:group:-100"] } }));
    assert.deepEqual(byKey.send.map((s) => s.target).sort(), [`${B}-topic-7.jsonl`, `${B}.jsonl`]);
    assert.deepEqual(Object.keys(byKey.index!).sort(), [
      "agent:main:telegram:group:-100",
      "agent:main:telegram:group:-100:topic:7",
    ]);
    assert.equal(byKey.unselected, 2);
    const byId = planRestore(input({ select: { sessions: [A] } }));
    assert.deepEqual(byId.send.map((s) => s.target).sort(), [
      `${A}.jsonl`,
      `${A}.jsonl.reset.2026-10-01T00-00-00.000Z`,
    ]);
    const since = planRestore(input({ select: { since: T - DAY } }));
    assert.deepEqual(
      since.send.map((s) => s.target),
      [`${A}.jsonl`],
    );
    assert.deepEqual(Object.keys(since.index!), ["agent:main:main"]);
  });
});

describe("SQLite era", () => {
  const sqlite = (overrides: Partial<PlanInput["bot"]> = {}) =>
    planRestore({
      ...input(),
      era: "sqlite",
      bot: { index: {}, files: new Map(), sessionIds: new Set(), ...overrides },
    });

  test("topics and archives get their own session ids, in file name, header and index", () => {
    const plan = sqlite();
    const topic = plan.files.find((f) => f.name === `${B}-topic-7.jsonl`)!;
    assert.equal(topic.headerId, derivedId(`main/${B}-topic-7.jsonl`));
    assert.equal(topic.target, `${topic.headerId}-topic-7.jsonl`);
    assert.equal(plan.index!["agent:main:telegram:group:-100:topic:7"].sessionId, topic.headerId);
    const archive = plan.files.find((f) => f.name.includes(".reset."))!;
    assert.equal(archive.target, `${archive.headerId}.jsonl`);
    assert.ok(Object.keys(plan.index!).some((k) => k.startsWith("agent:main:history:reset:")));
    assert.ok(
      plan.files.every((f) => !f.target?.includes(".jsonl.")),
      "a legacy archive name would stay in sessions/",
    );
  });

  test("sessions the database has are skipped; a key it uses (any case, bare form) is renamed", () => {
    const plan = sqlite({
      index: { "agent:main:main": { sessionId: OWN, updatedAt: T } },
      sessionIds: new Set([B.toLowerCase()]),
      covered: new Set([`${B}.jsonl`]),
    });
    assert.equal(plan.files.find((f) => f.name === `${B}.jsonl`)!.action, "skip");
    const main = plan.keys.find((k) => k.key === "agent:main:main")!;
    assert.equal(main.action, "rename");
    assert.equal(plan.index![`agent:main:restore-displaced:${A}`].sessionId, A);
    assert.equal(
      plan.index!["agent:main:main"],
      undefined,
      "the importer would make the backup's entry current",
    );
  });

  test("an id the database uses for other lines: imported as a session of its own, never appended to", () => {
    const plan = sqlite({ sessionIds: new Set([A.toLowerCase()]) });
    const main = plan.files.find((f) => f.name === `${A}.jsonl`)!;
    assert.equal(main.action, "rename");
    assert.notEqual(main.headerId, A);
    assert.equal(plan.index!["agent:main:main"].sessionId, main.headerId);
  });
});
