// The same sync through other real remotes: an OpenSSH server on 127.0.0.1, a minimal remote with nothing but
// BusyBox, and a SQLite-era bot whose exporter runs on a real Node 24.
// test tier: full — an sshd on 127.0.0.1 and Node 24 from .tools
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { dirname, join } from "node:path";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { runScript } from "./helpers/run.mts";
import { busyboxBin, fakeFly, setMachineEnv } from "./helpers/fly.mts";
import { makeSqliteState, node24, runExporter, settle } from "./helpers/sqlitestate.mts";
import { knownFromProvenance } from "../scripts/lib/openclaw/known.mts";
import { remoteFilterArgs } from "../scripts/lib/openclaw/files.mts";
import { assertExactCopy, snapshot } from "./helpers/tree.mts";
import { tempDir } from "./helpers/tmp.mts";
import { startSshd, type Sshd } from "./helpers/sshd.mts";

const tmp = tempDir("remotes");

function git(cwd: string, ...args: string[]): string {
  const done = spawnSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@t",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@t",
    },
  });
  assert.equal(done.status, 0, `git ${args.join(" ")}: ${done.stderr}`);
  return done.stdout;
}

describe("sync --ssh (a real OpenSSH server on 127.0.0.1)", () => {
  const dir = join(tmp, "ssh");
  let sshd: Sshd | undefined;
  let port = 0;
  let sshOptions: string[] = [];

  before(async () => {
    sshd = await startSshd(dir);
    port = sshd.port;
    sshOptions = sshd.clientOptions.flatMap((option) => ["--ssh-option", option]);
  });
  after(() => sshd?.stop());

  test("pulls the same exact history over ssh", async () => {
    const state = makeStateDir(join(dir, "state"));
    const memory = join(dir, "memory");
    const result = await runScript("sync-memory.mts", [
      "--ssh",
      `${userInfo().username}@127.0.0.1:${port}`,
      ...sshOptions,
      "--state-dir",
      state.root,
      "--memory",
      memory,
      "--json",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assertExactCopy(state, join(memory, "sessions"));
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.source.transport, "ssh");
    assert.equal(summary.files.new, 11);
  });

  test("an idle day is one connection, opened before the pipeline loads; a run that stops first closes it and exits", async () => {
    const state = makeStateDir(join(dir, "state-idle"));
    const memory = join(dir, "memory-idle");
    const where = [
      "--ssh",
      `${userInfo().username}@127.0.0.1:${port}`,
      ...sshOptions,
      "--state-dir",
      state.root,
    ];
    const first = await runScript("sync-memory.mts", [...where, "--memory", memory, "--json"]);
    assert.equal(first.code, 0, first.stderr);
    const before = sshd!.accepted();
    const idle = await runScript("sync-memory.mts", [...where, "--memory", memory, "--json"]);
    assert.equal(idle.code, 0, idle.stderr);
    assert.equal(JSON.parse(idle.stdout).files.new + JSON.parse(idle.stdout).files.updated, 0);
    assert.equal(sshd!.accepted() - before, 1, "discovery, listing and workspace look-up in one connection");
    // --memory naming a file fails when memory/ is opened, after the connection was opened: it gets an empty
    // script (a process left waiting on it would keep this run from ever exiting).
    const notFolder = join(dir, "not-a-folder");
    writeFileSync(notFolder, "x");
    const stopped = await runScript("sync-memory.mts", [...where, "--memory", notFolder]);
    assert.equal(stopped.code, 2, stopped.stderr);
    assert.match(stopped.stderr, /is not a folder/);
  });

  test("a refused connection is retried, then one sentence; memory/ untouched", async () => {
    const memory = join(dir, "memory-refused");
    const closed = port + 1;
    const result = await runScript(
      "sync-memory.mts",
      ["--ssh", `127.0.0.1:${closed}`, ...sshOptions, "--state-dir", "/data", "--memory", memory],
      { env: { OCSYNC_RETRY_DELAY_MS: "50" } },
    );
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      new RegExp(
        `error: could not reach 127\\.0\\.0\\.1:${closed} over ssh \\(.*Connection refused.*\\).*\\(tried 3 times\\)`,
      ),
    );
    assert.equal(existsSync(memory), false);
  });
});

describe("a minimal remote: BusyBox only", () => {
  test("discovery and transfer work with BusyBox sh, head, wc, sha256sum and gzip", async () => {
    const dir = join(tmp, "busybox");
    const bin = busyboxBin(dir);
    const state = makeStateDir(join(dir, "state"));
    const fly = fakeFly(dir, state.root);
    // The remote process sees a PATH with nothing but BusyBox's applets.
    setMachineEnv(fly, { PATH: bin });
    const memory = join(dir, "memory");
    const result = await runScript(
      "sync-memory.mts",
      ["--app", "my-bot", "--state-dir", state.root, "--memory", memory],
      { env: fly.env },
    );
    assert.equal(result.code, 0, result.stderr);
    assertExactCopy(state, join(memory, "sessions"));
    // An incremental run on BusyBox: the listing, then an append fetched from its offset (tail -c +N).
    const [live] = state.agents[0].partial!;
    appendFileSync(join(state.agents[0].sessionsDir, live), 'ant","content":[]}}\n');
    const again = await runScript(
      "sync-memory.mts",
      ["--app", "my-bot", "--state-dir", state.root, "--memory", memory, "--json"],
      { env: fly.env },
    );
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).incremental, true);
    assert.ok(
      readFileSync(join(memory, "sessions", live)).equals(
        readFileSync(join(state.agents[0].sessionsDir, live)),
      ),
    );
    const probe = spawnSync(join(bin, "sh"), ["-c", "readlink -f $(command -v sha256sum)"], {
      env: { PATH: bin },
    });
    assert.match(String(probe.stdout), /busybox/, "the remote's tools really are BusyBox");
  });
});

describe("a SQLite-era bot (exporter on a real Node 24)", () => {
  test("sync backs up layout C into the file-era layout, names the era and layout, records them", async () => {
    const dir = join(tmp, "sqlite");
    const state = await makeSqliteState(join(dir, "state"), { layout: "C", leftovers: true });
    await settle(state.root); // written a while before the sync: the exporter stamps its answer
    const before = snapshot(state.root);
    const memory = join(dir, "memory");
    const path = `${dirname(node24())}:${process.env.PATH}`;
    const result = await runScript(
      "sync-memory.mts",
      ["--local", "--state-dir", state.root, "--agent", state.agentId, "--memory", memory, "--json"],
      { env: { PATH: path } },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /storage era sqlite/);
    assert.match(result.stderr, /SQLite layout C \(user_version 23\)/);
    for (const [name, bytes] of state.expected) {
      assert.ok(readFileSync(join(memory, "sessions", name)).equals(bytes), `${name} exported exactly`);
    }
    const provenance = JSON.parse(readFileSync(join(memory, "sync-provenance.json"), "utf8"));
    assert.equal(provenance.lastSync.era, "sqlite");
    assert.equal(provenance.lastSync.layout, "C");
    assert.deepEqual(snapshot(state.root), before, "nothing was written into the bot's state dir");
    const again = await runScript(
      "sync-memory.mts",
      ["--local", "--state-dir", state.root, "--agent", state.agentId, "--memory", memory, "--json"],
      { env: { PATH: path } },
    );
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).provenanceWritten, false, "an unchanged database changes nothing");
  });

  test("a backup without the exporter's stamp (an older version's, or a sync the bot wrote during): the first idle day saves it, the next ones change nothing and read nothing", async () => {
    const dir = join(tmp, "sqlite-stamp");
    const state = await makeSqliteState(join(dir, "state"), { layout: "B" });
    await settle(state.root);
    const memory = join(dir, "memory");
    git(dir, "init", "-q");
    const path = `${dirname(node24())}:${process.env.PATH}`;
    const day = async () => {
      const result = await runScript(
        "sync-memory.mts",
        ["--local", "--state-dir", state.root, "--agent", state.agentId, "--memory", memory, "--json"],
        { env: { PATH: path } },
      );
      assert.equal(result.code, 0, result.stderr);
      const changed = git(dir, "status", "--porcelain", "--", "memory").trim();
      git(dir, "add", "-A", "memory");
      git(dir, "commit", "-q", "--allow-empty", "-m", "day");
      return { summary: JSON.parse(result.stdout), changed };
    };
    await day();
    const provenancePath = join(memory, "sync-provenance.json");
    const provenance = JSON.parse(readFileSync(provenancePath, "utf8"));
    assert.ok(provenance.exportStamp, "a settled database is stamped");
    delete provenance.exportStamp;
    writeFileSync(provenancePath, `${JSON.stringify(provenance, null, 2)}\n`);
    git(dir, "commit", "-q", "-am", "as an older version left it");

    const first = await day();
    assert.equal(first.summary.files.new + first.summary.files.updated, 0);
    assert.equal(first.changed, "M memory/sync-provenance.json", "the stamp is saved, nothing else");
    const saved = JSON.parse(readFileSync(provenancePath, "utf8"));
    const asked = await runExporter([
      "manifest",
      state.root,
      state.agentId,
      ...remoteFilterArgs(),
      ...knownFromProvenance(saved).args,
    ]);
    assert.equal(asked.code, 0, asked.stderr);
    assert.equal(asked.info.get("hashed"), "0", "the next listing reads nothing");
    for (const n of [2, 3]) {
      const idle = await day();
      assert.equal(idle.summary.provenanceWritten, false, `idle day ${n} writes nothing`);
      assert.equal(idle.changed, "", `idle day ${n} leaves nothing to commit`);
    }
  });

  test("an unknown schema fails with a sentence naming what was found, and changes nothing", async () => {
    const dir = join(tmp, "sqlite-unknown");
    const state = await makeSqliteState(join(dir, "state"), { layout: "C", userVersion: 31 });
    const memory = join(dir, "memory");
    const result = await runScript(
      "sync-memory.mts",
      ["--local", "--state-dir", state.root, "--agent", state.agentId, "--memory", memory],
      { env: { PATH: `${dirname(node24())}:${process.env.PATH}` } },
    );
    assert.equal(result.code, 1);
    assert.match(result.stderr, /error: .*user_version 31/);
    assert.equal(existsSync(memory), false);
  });
});
