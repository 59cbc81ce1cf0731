// Secrets and private sessions never reach memory/: sync redacts detected secrets and leaves out what
// memory/.syncignore names, without ever transferring it.
// Run: npx tsx test/run.mts sync-privacy
// test tier: full — about twenty syncs over --local and the fake flyctl, with secrets planted and sessions excluded
import { describe, test } from "node:test";
import { randomBytes } from "node:crypto";
import assert from "node:assert/strict";
import {
  appendFileSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { runScript, syncLocal } from "./helpers/run.mts";
import { fakeFly } from "./helpers/fly.mts";
import { sha256 } from "./helpers/tree.mts";
import { tempDir } from "./helpers/tmp.mts";

const tmp = tempDir("privacy");
// Built at run time so that no literal credential sits in this repository.
const GITHUB = ["ghp", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"].join("_");
const POSTGRES = ["postgres://admin:", "s3cretPassw0rd", "@db.example.com:5432/app"].join("");

describe("redaction during sync", () => {
  test("secrets become [REDACTED:<kind>] markers, lines stay JSON, counts and hashes are recorded", async () => {
    const dir = join(tmp, "redact");
    const state = makeStateDir(join(dir, "state"), { plantedText: `token ${GITHUB} and db ${POSTGRES}` });
    const memory = join(dir, "memory");
    const result = await syncLocal(state.root, memory, ["--json"]);
    assert.equal(result.code, 0, result.stderr);
    for (const output of [result.stdout, result.stderr]) {
      assert.ok(!output.includes(GITHUB) && !output.includes("s3cretPassw0rd"), "no secret is printed");
    }
    const summary = JSON.parse(result.stdout);
    // The planted message is in the live transcript and in its `.bak.` copy: two files, two secrets each.
    assert.equal(summary.redactions.total, 4);
    assert.equal(summary.redactions.files, 2);
    assert.deepEqual(summary.redactions.kinds, { GITHUB_TOKEN: 2, PostgreSQLConnection: 2 });
    const sessions = join(memory, "sessions");
    const provenance = JSON.parse(readFileSync(join(memory, "sync-provenance.json"), "utf8"));
    let found = 0;
    for (const name of readdirSync(sessions)) {
      const text = readFileSync(join(sessions, name), "utf8");
      assert.ok(!text.includes(GITHUB) && !text.includes("s3cretPassw0rd"), `${name} holds no secret`);
      if (name.endsWith(".jsonl")) for (const line of text.split("\n").filter(Boolean)) JSON.parse(line);
      if (text.includes("[REDACTED:GITHUB_TOKEN]")) {
        found++;
        assert.match(text, /\[REDACTED:PostgreSQLConnection\]/);
        const record = provenance.files[name];
        assert.equal(record.redactions, 2);
        assert.equal(
          record.sha256,
          sha256(readFileSync(join(sessions, name))),
          "the stored hash is of the redacted file",
        );
        const cloud = readFileSync(join(state.agents[0].sessionsDir, name));
        assert.equal(record.cloudSha256, sha256(cloud), "the cloud's hash is kept too");
        assert.notEqual(record.sha256, record.cloudSha256);
      }
    }
    assert.equal(found, 2);
    // The next sync sees the same redacted content: nothing changes.
    const again = await syncLocal(state.root, memory, ["--json"]);
    assert.equal(JSON.parse(again.stdout).provenanceWritten, false);
  });

  test("a token used as a session id (a file name, an index value) is never printed: sync masks it, verify reports it", async () => {
    const dir = join(tmp, "token-name");
    const state = makeStateDir(join(dir, "state"));
    const sessionsDir = state.agents[0].sessionsDir;
    const indexPath = join(sessionsDir, "sessions.json");
    const index = JSON.parse(readFileSync(indexPath, "utf8"));
    index["agent:main:telegram:direct:42"] = { sessionId: GITHUB, updatedAt: Date.now() };
    writeFileSync(indexPath, JSON.stringify(index, null, 2));
    writeFileSync(
      join(sessionsDir, `${GITHUB}.jsonl`),
      `${JSON.stringify({ type: "session", version: 3, id: GITHUB, timestamp: "2026-04-07T02:04:55.700Z" })}\n`,
    );
    const memory = join(dir, "memory");
    for (const args of [["--json"], []]) {
      const result = await syncLocal(state.root, memory, [...args, "--force"]);
      assert.equal(result.code, 0, result.stderr);
      assert.ok(!(result.stdout + result.stderr).includes(GITHUB), "sync prints no token");
      if (args.length) assert.ok(result.stdout.includes("ghp_…"), "the name is shown masked");
    }
    const stored = readFileSync(join(memory, "sessions", "sessions.json"), "utf8");
    assert.ok(!stored.includes(GITHUB), "the index value is redacted");
    for (const args of [["--json"], []]) {
      const verify = await runScript("verify.mts", [...args, memory]);
      assert.equal(verify.code, 1);
      assert.ok(!(verify.stdout + verify.stderr).includes(GITHUB), "verify prints no token");
      assert.match(verify.stdout, /sessions\/ghp_….jsonl/);
      assert.match(verify.stdout, /secret-in-name|the file's path holds a secret \(GITHUB_TOKEN\)/);
    }
  });

  test("only regular files with one link are read on the bot: a hard link to openclaw.json named like a transcript is reported and skipped", async () => {
    const dir = join(tmp, "hardlink");
    const state = makeStateDir(join(dir, "state"));
    const sessionsDir = state.agents[0].sessionsDir;
    // The channel tokens live in openclaw.json; a second name for it inside the sessions folder.
    const config = join(state.root, "openclaw.json");
    const marker = "telegram-token-in-config-0123456789";
    writeFileSync(config, `${readFileSync(config, "utf8").trimEnd().replace(/}$/, `,"x":"${marker}"}`)}\n`);
    const hardName = "0b7d2c1e-0000-4000-a000-000000000001.jsonl";
    const softName = "0b7d2c1e-0000-4000-a000-000000000002.jsonl";
    linkSync(config, join(sessionsDir, hardName));
    symlinkSync(config, join(sessionsDir, softName));
    const memory = join(dir, "memory");
    // The first run streams everything; the second lists first and fetches (the incremental path).
    for (const round of [1, 2]) {
      const result = await syncLocal(state.root, memory, ["--json", "--force"]);
      assert.equal(result.code, 0, result.stderr);
      const summary = JSON.parse(result.stdout);
      const warnings: string[] = summary.warnings;
      assert.ok(
        warnings.some((w) => w.startsWith(`${hardName} in the bot's sessions folder is a hard link`)),
        `round ${round}: ${warnings}`,
      );
      assert.ok(
        warnings.some((w) => w.startsWith(`${softName} in the bot's sessions folder is a symbolic link`)),
      );
      assert.match(
        result.stderr,
        new RegExp(`warning: ${hardName} in the bot's sessions folder is a hard link`),
      );
      const names = readdirSync(join(memory, "sessions"));
      assert.ok(!names.includes(hardName) && !names.includes(softName), `round ${round}: not backed up`);
      for (const name of names)
        assert.ok(
          !readFileSync(join(memory, "sessions", name), "utf8").includes(marker),
          `${name}: no config`,
        );
      assert.ok(!readFileSync(join(memory, "sync-provenance.json"), "utf8").includes(hardName));
    }
  });

  test("--no-redact keeps the bytes exactly as the cloud has them", async () => {
    const dir = join(tmp, "no-redact");
    const state = makeStateDir(join(dir, "state"), { plantedText: `token ${GITHUB}` });
    const memory = join(dir, "memory");
    const result = await syncLocal(state.root, memory, ["--no-redact", "--json"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).redactions.total, 0);
    const all = readdirSync(join(memory, "sessions"))
      .map((n) => readFileSync(join(memory, "sessions", n), "utf8"))
      .join("");
    assert.ok(all.includes(GITHUB));
  });
});

describe(".syncignore during sync", () => {
  test("file-name patterns are decided before transfer even with `!` lines, globs and another case: excluded bytes never travel", async () => {
    const dir = join(tmp, "ignore-manifest");
    const state = makeStateDir(join(dir, "state"));
    const agent = state.agents[0];
    const group = agent.sessions[1];
    const fork = agent.sessions[2];
    const topics = group.files.filter((name) => /-topic-/.test(name));
    assert.ok(topics.length > 0);
    // 1 MB of incompressible text in the fork's transcript: if it travelled, the transfer would show it.
    appendFileSync(
      join(agent.sessionsDir, fork.files[0]),
      `${JSON.stringify({ type: "custom", id: "big", data: randomBytes(768 * 1024).toString("base64") })}\n`,
    );
    const memory = join(dir, "memory");
    mkdirSync(memory);
    writeFileSync(
      join(memory, ".syncignore"),
      [
        "# every Discord session but one (a `!` line used to turn name patterns off on the bot)",
        "agent:main:discord:*",
        "!agent:main:discord:channel:public-help",
        "# every topic by file name, and one transcript named in another case",
        "*-topic-*.jsonl",
        fork.files[0].toUpperCase(),
        "",
      ].join("\n"),
    );
    const fly = fakeFly(dir, state.root);
    const result = await runScript(
      "sync-memory.mts",
      ["--app", "my-bot", "--state-dir", state.root, "--memory", memory, "--json"],
      { env: fly.env },
    );
    assert.equal(result.code, 0, result.stderr);
    const stored = readdirSync(join(memory, "sessions"));
    for (const name of [...topics, ...fork.files]) assert.ok(!stored.includes(name), `${name} left out`);
    assert.ok(stored.includes(agent.sessions[0].files[0]), "the rest arrives");
    const summary = JSON.parse(result.stdout);
    assert.ok(summary.bytes.transferred < 256 * 1024, `${summary.bytes.transferred} bytes travelled`);
    const transfer = fly.calls().filter((argv) => argv[0] === "ssh" && argv.at(-1)!.includes(" stream "));
    const last = transfer.at(-1)!.at(-1)!;
    for (const name of [...topics, ...fork.files.filter((n) => n.endsWith(".jsonl"))])
      assert.ok(last.includes(`-${name}`), `${name} excluded on the bot by its exact name`);
    const verified = await runScript("verify.mts", [memory]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  });

  test("excluded sessions are never transferred and leave the stored index; the rest arrives", async () => {
    const dir = join(tmp, "ignore");
    const state = makeStateDir(join(dir, "state"));
    const agent = state.agents[0];
    const group = agent.sessions[1]; // the telegram group and its two topics
    const fork = agent.sessions[2];
    // Written before the sync that reads them, as a bot's are: a file stamped in the second of the listing is
    // rightly read again the next day, and the idle days below count connections.
    const hourAgo = new Date(Date.now() - 3600_000);
    for (const name of readdirSync(agent.sessionsDir))
      utimesSync(join(agent.sessionsDir, name), hourAgo, hourAgo);
    const memory = join(dir, "memory");
    mkdirSync(memory);
    writeFileSync(
      join(memory, ".syncignore"),
      `# private group, and the fork by file name\n${group.key}\n${fork.files[0]}\n`,
    );
    const fly = fakeFly(dir, state.root);
    const result = await runScript(
      "sync-memory.mts",
      ["--app", "my-bot", "--state-dir", state.root, "--memory", memory, "--json"],
      {
        env: fly.env,
      },
    );
    assert.equal(result.code, 0, result.stderr);
    const stored = readdirSync(join(memory, "sessions")).sort();
    for (const name of [...group.files, ...fork.files]) assert.ok(!stored.includes(name), `${name} left out`);
    const expected = agent.backedUp.filter((n) => !group.files.includes(n) && !fork.files.includes(n));
    assert.deepEqual(stored, expected);
    const index = JSON.parse(readFileSync(join(memory, "sessions", "sessions.json"), "utf8"));
    assert.ok(
      !Object.keys(index).some((key) => key.startsWith(group.key)),
      "the group and its topics left the index",
    );
    assert.ok(index[agent.sessions[0].key], "other keys stay");
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.excluded.keys, 3, "the group key and its two topic keys");
    // Never transferred: the transfer call told the remote to skip them by name.
    const transfer = fly.calls().filter((argv) => argv[0] === "ssh" && argv.at(-1)!.includes(" stream "));
    assert.equal(transfer.length, 2, "one call for the index, one for the rest");
    const last = transfer[1].at(-1)!;
    for (const name of [...group.files, fork.files[0]]) {
      assert.ok(
        last.includes(`-${name}`) || last.includes(`-*-topic-`) || last.includes(name),
        `${name} excluded on the remote`,
      );
    }
    // The stored index is the filtered one, and its provenance says so: idle days change nothing, and each is two
    // connections: the bundle (discovery, the bot's index, its file names, the workspace), then the listing that
    // leaves the excluded files out.
    for (const day of [2, 3]) {
      const before = fly.calls().length;
      const idle = await runScript(
        "sync-memory.mts",
        ["--app", "my-bot", "--state-dir", state.root, "--memory", memory, "--json"],
        {
          env: fly.env,
        },
      );
      assert.equal(idle.code, 0, idle.stderr);
      const idleSummary = JSON.parse(idle.stdout);
      assert.equal(idleSummary.files.updated, 0);
      assert.equal(idleSummary.provenanceWritten, false);
      const calls = fly.sshSince(before).map((command) => command.split(" ").slice(0, 4).join(" "));
      assert.deepEqual(calls, ["sh -s --", "sh -s -- manifest"], `day ${day}`);
    }
    const verified = await runScript("verify.mts", ["--strict", memory]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  });
});
