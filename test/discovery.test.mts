// scripts/lib/openclaw/discovery.mts: parseDiscovery reads discover.sh's answer, openclawVersion picks the version
// in the reference's order, chooseAgent picks the agent. Run: npx tsx test/run.mts discovery
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Failure } from "../scripts/lib/cli.mts";
import { chooseAgent, openclawVersion, parseDiscovery } from "../scripts/lib/openclaw/discovery.mts";
import { eraOf } from "../scripts/lib/openclaw/era.mts";
import { busyboxBin } from "./helpers/fly.mts";
import { tempDir } from "./helpers/tmp.mts";

const answer = (lines: string[]) => ["OCSYNC-DISCOVER 1", ...lines, "end\t0", ""].join("\n");

describe("parseDiscovery", () => {
  test("state, tools, versions, node and agents", () => {
    const discovery = parseDiscovery(
      answer([
        "state\tok\t/data",
        "tool\tnode\tyes",
        "tool\tgzip\tno",
        "version\tcli\tOpenClaw 2026.4.12 (abc)",
        "version\tpackage\t2026.4.11",
        "version\tbogus\t1",
        "node\tv22.12.0",
        "agent\tmain\t1\t0\t3\t4096",
        "agent\twork\t0\t1\t0\t0",
      ]),
    );
    assert.equal(discovery.state, "ok");
    assert.equal(discovery.stateDir, "/data");
    assert.deepEqual(discovery.tools, { node: true, gzip: false });
    assert.deepEqual(discovery.versions, { cli: "OpenClaw 2026.4.12 (abc)", package: "2026.4.11" });
    assert.equal(discovery.node, "v22.12.0");
    assert.deepEqual(
      discovery.agents.map((a) => [a.id, a.hasSessions, a.hasSqlite, a.transcripts, a.bytes]),
      [
        ["main", true, false, 3, 4096],
        ["work", false, true, 0, 0],
      ],
    );
    assert.deepEqual(openclawVersion(discovery), { version: "2026.4.12", source: "cli" });
    assert.equal(eraOf(discovery.agents[0]).era, "files");
    assert.equal(eraOf(discovery.agents[1]).era, "sqlite");
  });
  test("a missing state dir", () => {
    const discovery = parseDiscovery(answer(["state\tmissing\t/nope"]));
    assert.equal(discovery.state, "missing");
    assert.equal(discovery.stateDir, "/nope");
  });
  test("something else on stdout (a login banner) is a sentence", () => {
    assert.throws(
      () => parseDiscovery(`Welcome!\n${answer([])}`),
      (error) =>
        error instanceof Failure && /did not answer the discovery like a POSIX shell/.test(error.message),
    );
  });
  test("an answer cut short is a sentence", () => {
    assert.throws(
      () => parseDiscovery("OCSYNC-DISCOVER 1\nstate\tok\t/data\n"),
      (error) => error instanceof Failure && /cut short/.test(error.message),
    );
  });
  test("what the real discover.sh says about a real state dir parses", () => {
    const dir = tempDir("discovery");
    {
      mkdirSync(join(dir, "agents", "main", "sessions"), { recursive: true });
      writeFileSync(join(dir, "agents", "main", "sessions", "a.jsonl"), "{}\n");
      const script = new URL("../scripts/lib/remote/discover.sh", import.meta.url).pathname;
      const text = execFileSync("sh", [script, dir], { encoding: "utf8" });
      const discovery = parseDiscovery(text);
      assert.equal(discovery.state, "ok");
      assert.deepEqual(
        discovery.agents.map((a) => [a.id, a.hasSessions, a.hasSqlite]),
        [["main", true, false]],
      );
    }
  });
});

describe("discover.sh counts an agent's transcripts", () => {
  test("from one stat (BusyBox without wc, dash) or file by file (a bot without stat): the same count and bytes", () => {
    const dir = tempDir("discovery-count");
    const sessions = join(dir, "agents", "main", "sessions");
    mkdirSync(join(sessions, "folder.jsonl"), { recursive: true }); // not a file
    const sizes: Record<string, number> = {
      "a.jsonl": 3,
      "b c.jsonl": 5000,
      "d.jsonl.reset.2026-11-12T09-00-00.000Z": 7,
      "e.jsonl.bak.2026-11-17T09-00-00.000Z": 11,
      "new\nline.jsonl": 13,
      "x.checkpoint.2001a19d-76b2-4ef9-ac60-fcc66d7e4102.jsonl": 100, // left out by the pattern
      "x.jsonl.lock": 200, // not a transcript name
    };
    for (const [name, size] of Object.entries(sizes)) writeFileSync(join(sessions, name), "x".repeat(size));
    symlinkSync("a.jsonl", join(sessions, "link.jsonl")); // a link to a file counts as the file does
    const script = new URL("../scripts/lib/remote/discover.sh", import.meta.url).pathname;
    const patterns = ["-*.lock", "-*.checkpoint.????????-????-????-????-????????????.jsonl"];
    // The one-stat path must not lean on wc: BusyBox without wc; the file-by-file path without stat.
    const bin = busyboxBin(dir, ["wc"]);
    const noStat = busyboxBin(join(dir, "nostat"), ["stat"]);
    const answers = [
      execFileSync("sh", [script, dir, ...patterns], { encoding: "utf8" }),
      execFileSync(join(bin, "sh"), [script, dir, ...patterns], { encoding: "utf8", env: { PATH: bin } }),
      execFileSync(join(noStat, "sh"), [script, dir, ...patterns], {
        encoding: "utf8",
        env: { PATH: noStat },
      }),
    ];
    for (const text of answers) {
      const agent = parseDiscovery(text).agents[0];
      assert.deepEqual([agent.id, agent.transcripts, agent.bytes], ["main", 6, 3 + 5000 + 7 + 11 + 13 + 3]);
    }
    // Nothing but left-out files and folders: zero, not a failure.
    const empty = join(dir, "agents", "ops", "sessions");
    mkdirSync(join(empty, "only.jsonl"), { recursive: true });
    writeFileSync(join(empty, "y.checkpoint.2001a19d-76b2-4ef9-ac60-fcc66d7e4102.jsonl"), "z");
    const ops = parseDiscovery(execFileSync("sh", [script, dir, ...patterns], { encoding: "utf8" }))
      .agents[1];
    assert.deepEqual([ops.id, ops.transcripts, ops.bytes], ["ops", 0, 0]);
  });
});

describe("chooseAgent", () => {
  const discovery = (ids: string[]) =>
    parseDiscovery(answer(["state\tok\t/data", ...ids.map((id) => `agent\t${id}\t1\t0\t1\t10`)]));
  test("main when there, else the only one, else the one asked for", () => {
    assert.equal(chooseAgent(discovery(["work", "main"])).id, "main");
    assert.equal(chooseAgent(discovery(["work"])).id, "work");
    assert.equal(chooseAgent(discovery(["a", "b"]), "b").id, "b");
  });
  test("several without main, none, or an unknown one: a sentence that says what to do", () => {
    assert.throws(() => chooseAgent(discovery(["a", "b"])), /pick one with --agent ID/);
    assert.throws(() => chooseAgent(discovery([])), /holds no agents/);
    assert.throws(() => chooseAgent(discovery(["a"]), "z"), /agent "z" does not exist .*found: a/);
  });
});
