// sync-memory.mts driven as a user would: the real script as a child process, real files, the local transport
// and a fake flyctl that behaves as flyctl is documented to.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { startScript } from "./helpers/run.mts";
import { machine } from "./helpers/fly.mts";
import { assertExactCopy, sha256, snapshot } from "./helpers/tree.mts";
import { tempDir } from "./helpers/tmp.mts";
import { assertCleanFailure, sync, syncLocalFast, withFakeFly, workspaces } from "./helpers/sync-case.mts";

const tmp = tempDir("sync");

const workspace = workspaces(tmp);

describe("sync --local", () => {
  test("copies the history exactly, holds back an unfinished line, records provenance", async () => {
    const w = workspace();
    const result = await syncLocalFast(w.state.root, w.memory);
    assert.equal(result.code, 0, result.stderr);
    assertExactCopy(w.state, w.sessions);
    assert.match(result.stderr, /OpenClaw 2026\.7\.1 \(from openclaw\.json meta\.lastTouchedVersion\)/);
    assert.match(result.stderr, /agents in .*: main \(files\), ops \(files\)/);
    assert.match(result.stderr, /storage era files/);
    assert.match(result.stdout, /11 new, 0 updated, 0 unchanged/);
    assert.match(result.stdout, /held back: 1 unfinished last line/);
    const provenance = JSON.parse(readFileSync(join(w.memory, "sync-provenance.json"), "utf8"));
    assert.equal(provenance.lastSync.era, "files");
    assert.equal(provenance.lastSync.agent, "main");
    assert.equal(provenance.lastSync.openclawVersion, "2026.7.1");
    assert.equal(Object.keys(provenance.files).length, 11);
    for (const [name, record] of Object.entries<any>(provenance.files)) {
      const bytes = readFileSync(join(w.sessions, name));
      assert.equal(record.sha256, sha256(bytes), `${name}: stored hash`);
      assert.equal(record.size, bytes.length);
      const cloud = readFileSync(join(w.state.agents[0].sessionsDir, name));
      assert.equal(record.cloudSha256, sha256(cloud), `${name}: cloud hash`);
    }
    const partial = w.state.agents[0].partial![0];
    assert.equal(provenance.files[partial].heldBackBytes, w.state.agents[0].partial![1].length);
  });

  test("a second run with nothing new changes nothing, not even the provenance file", async () => {
    const w = workspace();
    assert.equal((await syncLocalFast(w.state.root, w.memory)).code, 0);
    const before = snapshot(w.memory);
    const again = await syncLocalFast(w.state.root, w.memory, ["--json"]);
    assert.equal(again.code, 0, again.stderr);
    const summary = JSON.parse(again.stdout);
    assert.equal(summary.files.unchanged, 11);
    assert.equal(summary.files.new + summary.files.updated, 0);
    assert.equal(summary.provenanceWritten, false);
    assert.deepEqual(snapshot(w.memory), before);
  });

  test("appends arrive; the finished line comes complete; files only in memory/ stay", async () => {
    // A bot with its workspace on the volume: a missing one would be a warning of its own.
    const w = workspace({ workspace: { "MEMORY.md": "# Memory\n" } });
    assert.equal((await syncLocalFast(w.state.root, w.memory)).code, 0);
    const [partialName, unfinished] = w.state.agents[0].partial!;
    appendFileSync(join(w.state.agents[0].sessionsDir, partialName), 'ant","content":[]}}\n');
    writeFileSync(
      join(w.sessions, "old-session.jsonl"),
      '{"type":"session","version":3,"id":"old-session"}\n',
    );
    const result = await syncLocalFast(w.state.root, w.memory, ["--json", "--force"]);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.files.updated, 1);
    assert.equal(summary.heldBack.lines, 0);
    assert.deepEqual(summary.warnings, [], "an append is not worth a warning");
    const local = readFileSync(join(w.sessions, partialName), "utf8");
    assert.ok(local.endsWith(`${unfinished}ant","content":[]}}\n`));
    assert.ok(existsSync(join(w.sessions, "old-session.jsonl")), "absence in the cloud deletes nothing");
  });

  test("a transcript rewritten in the cloud is taken, with a warning that counts lines", async () => {
    // A bot with its workspace on the volume: a missing one would be a warning of its own.
    const w = workspace({ workspace: { "MEMORY.md": "# Memory\n" } });
    assert.equal((await syncLocalFast(w.state.root, w.memory)).code, 0);
    const session = w.state.agents[0].sessions[1];
    const file = join(w.state.agents[0].sessionsDir, session.files[0]);
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
    writeFileSync(file, `${lines.slice(-2).join("\n")}\n`);
    const result = await syncLocalFast(w.state.root, w.memory, ["--json"]);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.warnings.length, 1);
    assert.match(
      summary.warnings[0],
      new RegExp(`${session.files[0]} shrank in the cloud \\(${lines.length} → 2 lines`),
    );
    assert.match(result.stderr, /warning: .* shrank/);
    assert.equal(readFileSync(join(w.sessions, session.files[0]), "utf8"), `${lines.slice(-2).join("\n")}\n`);
  });

  test("--dry-run reports what would change and writes nothing", async () => {
    const w = workspace();
    const result = await syncLocalFast(w.state.root, w.memory, ["--dry-run", "--json"]);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.dryRun, true);
    assert.equal(summary.files.new, 11);
    assert.equal(existsSync(w.memory), false, "not even the folder is created");
    assert.deepEqual(
      readdirSync(w.dir).filter((n) => n.startsWith(".")),
      [],
    );
  });

  test("the text dry run lists the files and the held-back line the JSON lists; the real run then does exactly that", async () => {
    const w = workspace();
    const json = JSON.parse((await syncLocalFast(w.state.root, w.memory, ["--dry-run", "--json"])).stdout);
    const text = await syncLocalFast(w.state.root, w.memory, ["--dry-run"]);
    assert.equal(text.code, 0, text.stderr);
    const listed = [...text.stdout.matchAll(/^ {2}(new|updated): +(\S+) \(/gm)].map((m) => `${m[1]} ${m[2]}`);
    const expected = json.changes
      .filter((c: { change: string }) => c.change === "new" || c.change === "updated")
      .map((c: { change: string; name: string }) => `${c.change} ${c.name}`);
    assert.equal(listed.length, 11);
    assert.deepEqual(listed, expected);
    // The transcript caught mid-append: its unfinished last line is named without moving the data.
    const [partialName, unfinished] = w.state.agents[0].partial!;
    const bytes = Buffer.byteLength(unfinished);
    assert.deepEqual(json.heldBack, { lines: 1, bytes });
    assert.match(
      text.stdout,
      new RegExp(
        `^ {2}held back: 1 unfinished last line\\(s\\), ${bytes} bytes \\(they arrive complete next time\\)$`,
        "m",
      ),
    );
    assert.equal(existsSync(w.memory), false);

    // The real run holds back the same line and writes what the dry run announced, file by file.
    const real = await syncLocalFast(w.state.root, w.memory, ["--json"]);
    assert.equal(real.code, 0, real.stderr);
    const done = JSON.parse(real.stdout);
    assert.deepEqual(done.heldBack, json.heldBack);
    const changing = (summary: {
      changes: { name: string; change: string; size: number; heldBackBytes?: number }[];
    }) =>
      summary.changes
        .filter((c) => c.change === "new" || c.change === "updated")
        .map((c) => [c.name, c.change, c.size, c.heldBackBytes ?? 0]);
    assert.deepEqual(changing(json), changing(done));
    assert.equal(json.bytes.written, done.bytes.written);
    assert.ok(changing(json).some(([name, , , held]) => name === partialName && held === bytes));

    // The next day the bot has finished the line and started another: the dry run says which file grows and that
    // one unfinished line is held back again.
    const cloudFile = join(w.state.agents[0].sessionsDir, partialName);
    appendFileSync(cloudFile, 'ant","content":[]}}\n{"type":"mess');
    const next = await syncLocalFast(w.state.root, w.memory, ["--dry-run"]);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stdout, new RegExp(`^ {2}updated: ${partialName.replace(/[.]/g, "\\.")} \\(`, "m"));
    assert.match(next.stdout, /^ {2}held back: 1 unfinished last line\(s\), 13 bytes/m);
  });

  test("picks the only agent, refuses to guess between several, names unknown ones", async () => {
    const w = workspace();
    rmSync(join(w.state.root, "agents", "main"), { recursive: true });
    const only = await syncLocalFast(w.state.root, w.memory, ["--json"]);
    assert.equal(only.code, 0, only.stderr);
    assert.equal(JSON.parse(only.stdout).source.agent, "ops");
    mkdirSync(join(w.state.root, "agents", "default", "sessions"), { recursive: true });
    const before = snapshot(w.memory);
    assertCleanFailure(
      await syncLocalFast(w.state.root, w.memory),
      /several agents \(default, ops\) and none is "main"; pick one with --agent ID/,
      before,
      w.memory,
    );
    assertCleanFailure(
      await syncLocalFast(w.state.root, w.memory, ["--agent", "nope"]),
      /agent "nope" does not exist .* \(found: default, ops\)/,
      before,
      w.memory,
    );
  });

  test("a missing state dir is one sentence", async () => {
    const w = workspace();
    assertCleanFailure(
      await sync(["--local", "--state-dir", join(w.dir, "nowhere"), "--memory", w.memory]),
      /the state dir .*nowhere does not exist on this machine; pass --state-dir/,
      {},
      w.memory,
    );
    assertCleanFailure(
      await sync(["--local", "--state-dir", join(w.state.root, "openclaw.json"), "--memory", w.memory]),
      /the state dir .*openclaw\.json on this machine is a file, not a folder; pass the folder that holds openclaw\.json and agents\/ with --state-dir/,
      {},
      w.memory,
    );
  });

  test("an empty cloud never replaces a history (unless --allow-empty)", async () => {
    const w = workspace();
    assert.equal((await syncLocalFast(w.state.root, w.memory)).code, 0);
    const recreated = makeStateDir(join(w.dir, "recreated"), { secondAgent: false });
    for (const name of readdirSync(recreated.agents[0].sessionsDir)) {
      if (name !== "sessions.json") rmSync(join(recreated.agents[0].sessionsDir, name));
    }
    writeFileSync(join(recreated.agents[0].sessionsDir, "sessions.json"), "{}");
    const before = snapshot(w.memory);
    assertCleanFailure(
      await syncLocalFast(recreated.root, w.memory),
      /the cloud has no transcripts for agent main while .* holds 9: .*--allow-empty/,
      before,
      w.memory,
    );
    const allowed = await syncLocalFast(recreated.root, w.memory, ["--allow-empty", "--json"]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(readdirSync(w.sessions).length, 11, "transcripts stay; only sessions.json was replaced");
    assert.equal(readFileSync(join(w.sessions, "sessions.json"), "utf8"), "{}");
  });

  test("refuses to overwrite uncommitted changes in git, unless --force", async () => {
    const w = workspace();
    spawnSync("git", ["init", "-q", w.dir]);
    spawnSync("git", [
      "-C",
      w.dir,
      "-c",
      "user.email=t@e",
      "-c",
      "user.name=t",
      "commit",
      "-q",
      "--allow-empty",
      "-m",
      "init",
    ]);
    assert.equal((await syncLocalFast(w.state.root, w.memory)).code, 0);
    const edited = join(w.sessions, "sessions.json");
    writeFileSync(edited, "{}");
    const before = snapshot(w.memory);
    assertCleanFailure(
      await syncLocalFast(w.state.root, w.memory),
      /memory has uncommitted changes \(memory\/sessions\/.*\); commit or stash them first.*--force/,
      before,
      w.memory,
    );
    const forced = await syncLocalFast(w.state.root, w.memory, ["--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(readFileSync(edited, "utf8"), "{}");
  });

  test("a second concurrent run fails fast; a stale lock of a dead process is taken over", async () => {
    const w = workspace();
    const lock = join(w.dir, ".memory.sync.lock");
    const host = (await import("node:os")).hostname();
    writeFileSync(
      lock,
      JSON.stringify({ pid: process.pid, host, startedAt: "2026-11-24T06:00:00Z", command: "sync-memory" }),
    );
    assert.equal((await syncLocalFast(w.state.root, w.memory)).code, 1);
    const held = await syncLocalFast(w.state.root, w.memory);
    assert.match(
      held.stderr,
      new RegExp(`another sync-memory of .*memory is running \\(pid ${process.pid} on ${host}`),
    );
    assert.equal(existsSync(w.memory), false);
    const dead = spawnSync(process.execPath, [
      "-e",
      "process.stdout.write(String(process.pid))",
    ]).stdout.toString();
    writeFileSync(
      lock,
      JSON.stringify({ pid: Number(dead), host, startedAt: "2026-11-24T06:00:00Z", command: "sync-memory" }),
    );
    const takeover = await syncLocalFast(w.state.root, w.memory);
    assert.equal(takeover.code, 0, takeover.stderr);
    assert.match(takeover.stderr, new RegExp(`took over a stale lock of pid ${dead}`));
    assert.equal(existsSync(lock), false, "the lock is released");
  });

  test("a failure while moving files into place puts everything back", async () => {
    const w = workspace();
    assert.equal((await syncLocalFast(w.state.root, w.memory)).code, 0);
    // New cloud content for two files, and a folder where the second one has to go: the rename fails.
    const agent = w.state.agents[0];
    const names = readdirSync(agent.sessionsDir)
      .filter((n) => n.endsWith(".jsonl") && !n.includes("." + "checkpoint"))
      .sort();
    appendFileSync(
      join(agent.sessionsDir, names[0]),
      '{"type":"custom","id":"0000aaaa","parentId":null,"timestamp":"2026-11-21T00:00:00Z"}\n',
    );
    writeFileSync(
      join(agent.sessionsDir, "zz-new-session.jsonl"),
      '{"type":"session","version":3,"id":"zz-new-session"}\n',
    );
    mkdirSync(join(w.sessions, "zz-new-session.jsonl"));
    const before = snapshot(w.memory);
    assertCleanFailure(
      await syncLocalFast(w.state.root, w.memory, ["--force"]),
      /writing into .*memory failed \(.*\); it was left as it was before the sync/,
      before,
      w.memory,
    );
  });

  test("a full disk fails cleanly and leaves memory/ as it was", async (t) => {
    if (process.getuid?.() !== 0)
      assert.fail("this test mounts a small tmpfs and needs root (CI runs as root)");
    const w = workspace({ turns: 40 });
    const small = join(w.dir, "small");
    mkdirSync(small);
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=48k", "tmpfs", small]);
    assert.equal(mounted.status, 0, `mount tmpfs: ${mounted.stderr}`);
    t.after(() => spawnSync("umount", [small]));
    const memory = join(small, "memory");
    mkdirSync(join(memory, "sessions"), { recursive: true });
    writeFileSync(join(memory, "sessions", "keep.jsonl"), '{"type":"session","version":3,"id":"keep"}\n');
    const before = snapshot(memory);
    assertCleanFailure(
      await syncLocalFast(w.state.root, memory),
      /no space left on device|disk is full|ENOSPC/i,
      before,
      memory,
    );
  });
});

describe("sync --app (fake flyctl)", () => {
  test("pulls through flyctl ssh console with --machine, -q and a shell-free -C", async () => {
    const w = withFakeFly(workspace());
    const result = await w.run();
    assert.equal(result.code, 0, result.stderr);
    assertExactCopy(w.state, w.sessions);
    assert.match(result.stderr, /flyctl 0\.4\.87/);
    assert.match(result.stderr, /machine 148e6d4c2e9d89 .* in ams, started/);
    const ssh = w.fly.calls().filter((argv) => argv[0] === "ssh");
    assert.equal(ssh.length, 4, "discovery, the transfer, and the workspace's look-up and listing");
    for (const argv of ssh) {
      assert.deepEqual(argv.slice(0, 7), [
        "ssh",
        "console",
        "-a",
        "my-bot",
        "--machine",
        "148e6d4c2e9d89",
        "-q",
      ]);
      assert.equal(argv[7], "-C");
      assert.match(argv[8], /^sh -s -- /, "the program travels on stdin; no PTY, no bare sh");
    }
    const provenance = JSON.parse(readFileSync(join(w.memory, "sync-provenance.json"), "utf8"));
    assert.equal(provenance.lastSync.app, "my-bot");
    assert.equal(provenance.lastSync.machine, "148e6d4c2e9d89");
    assert.equal(provenance.lastSync.flyctlVersion, "0.4.87");
  });

  test("FLY_APP and FLY_MACHINE work like --app and --machine; only `fly` on PATH works too", async () => {
    const w = withFakeFly(workspace(), { binName: "fly" });
    const result = await sync(["--state-dir", w.state.root, "--memory", w.memory, "--json"], {
      ...w.fly.env,
      FLY_APP: "my-bot",
      FLY_MACHINE: "148e6d4c2e9d89",
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).source.machine, "148e6d4c2e9d89");
  });

  test("two started machines with the volume: refuses to guess, lists them; --machine picks one", async () => {
    const w = withFakeFly(workspace());
    w.fly.config.apps["my-bot"].machines.push(machine("9080e6f1a2b3c4", w.state.root, "started", "fra"));
    w.fly.save();
    assertCleanFailure(
      await w.run(),
      /several started machines of "my-bot" have a volume at .* \(148e6d4c2e9d89 \[started, ams\], 9080e6f1a2b3c4 \[started, fra\]\).*--machine ID/,
      {},
      w.memory,
    );
    const picked = await w.run(["--machine", "9080e6f1a2b3c4"]);
    assert.equal(picked.code, 0, picked.stderr);
    assertExactCopy(w.state, w.sessions);
  });

  test("flyctl missing: one sentence saying how to install it", async () => {
    const w = workspace();
    const result = await sync(["--app", "my-bot", "--memory", w.memory], { PATH: "/usr/bin:/bin" });
    assertCleanFailure(
      result,
      /flyctl is not installed \(neither fly nor flyctl is on PATH\); install it from/,
      {},
      w.memory,
    );
  });

  test("transient connect failures are retried, each retry announced on stderr", async () => {
    const w = withFakeFly(workspace(), { config: { faults: { connectFailures: 2 } } });
    const result = await w.run();
    assert.equal(result.code, 0, result.stderr);
    assertExactCopy(w.state, w.sessions);
    const retries = result.stderr.split("\n").filter((line) => /trying again in/.test(line));
    assert.equal(retries.length, 2, result.stderr);
    assert.match(
      retries[0],
      /^could not connect to "my-bot" over flyctl ssh \(.*\): trying again in [\d.]+s \(attempt 2 of 3\)$/,
    );
    assert.match(retries[1], /\(attempt 3 of 3\)$/);
  });

  test("a remote call that stops sending times out", async () => {
    const w = withFakeFly(workspace(), { config: { faults: { hang: true } } });
    const started = Date.now();
    const result = await sync(
      ["--app", "my-bot", "--state-dir", w.state.root, "--memory", w.memory, "--timeout", "1"],
      {
        ...w.fly.env,
        OCSYNC_RETRIES: "1",
      },
    );
    assertCleanFailure(
      result,
      /the discovery from Fly app "my-bot" \(machine 148e6d4c2e9d89\) stalled \(no data for 1s/,
      {},
      w.memory,
    );
    assert.ok(Date.now() - started < 30_000);
  });

  test("Ctrl-C during a transfer stops it, cleans up and leaves memory/ as it was", async () => {
    const w = withFakeFly(workspace(), { config: { faults: { hang: true, match: " stream " } } });
    mkdirSync(w.sessions, { recursive: true });
    writeFileSync(join(w.sessions, "kept.jsonl"), '{"type":"session","version":3,"id":"kept"}\n');
    const before = snapshot(w.memory);
    const child = startScript(
      "sync-memory.mts",
      ["--app", "my-bot", "--state-dir", w.state.root, "--memory", w.memory],
      w.fly.env,
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/storage era files/.test(stderr) && !child.killed) setTimeout(() => child.kill("SIGINT"), 500);
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assertCleanFailure(
      { code: code === 130 ? 1 : code, signal: null, stdout: "", stderr },
      /interrupted by SIGINT; nothing was changed/,
      before,
      w.memory,
    );
    assert.equal(code, 130);
  });

  test("Ctrl-C while waiting to retry a connection ends the run at once", async () => {
    const w = withFakeFly(workspace(), { config: { faults: { connectFailures: 10 } } });
    const child = startScript(
      "sync-memory.mts",
      ["--app", "my-bot", "--state-dir", w.state.root, "--memory", w.memory],
      { ...w.fly.env, OCSYNC_RETRY_DELAY_MS: "20000" },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const started = Date.now();
    while (!w.fly.calls().some((argv) => argv[0] === "ssh")) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.equal(code, 130, stderr);
    assert.match(stderr, /interrupted by SIGINT; nothing was changed/);
    assert.ok(Date.now() - started < 15_000, "did not sit out the 20 s retry pause");
    assert.equal(w.fly.calls().filter((argv) => argv[0] === "ssh").length, 1, "no retry after the interrupt");
  });

  test("a failing remote program: flyctl exits 1, the program's own sentence is shown", async () => {
    const w = withFakeFly(workspace());
    // The agent's sessions folder disappears between discovery and transfer (a real race on a live bot).
    const sessionsDir = w.state.agents[0].sessionsDir;
    const wrapper = join(w.dir, "bin", "flyctl");
    rmSync(wrapper);
    writeFileSync(
      wrapper,
      `#!/bin/sh\ncase "$*" in *" stream "*) rm -rf '${sessionsDir}';; esac\nexec '${join(process.cwd(), "test", "helpers", "fake-flyctl.mjs")}' "$@"\n`,
      { mode: 0o755 },
    );
    assertCleanFailure(
      await w.run(),
      /the transfer failed on the bot's machine \(status 3\): no sessions folder at .*agents\/main\/sessions/,
      {},
      w.memory,
    );
  });
});

describe("terminal conventions", () => {
  test("progress is drawn on a terminal, never when piped; NO_COLOR turns colour off", async () => {
    const w = workspace();
    const command = `${process.execPath} --import ${import.meta.resolve("tsx")} scripts/sync-memory.mts --local --state-dir ${w.state.root} --memory ${w.memory} --force`;
    // util-linux script(1) gives the run a real pseudo-terminal.
    const tty = spawnSync("script", ["-q", "-e", "-c", command, "/dev/null"], {
      env: { ...process.env, NO_COLOR: undefined, TERM: "xterm" } as NodeJS.ProcessEnv,
      encoding: "utf8",
    });
    assert.equal(tty.status, 0, tty.stderr);
    assert.match(tty.stdout, /\r\x1b\[2K.*(transferring|received)/, "a progress line on the terminal");
    const coloured = spawnSync(
      "script",
      ["-q", "-e", "-c", `${command} --state-dir ${join(w.dir, "nope")}`, "/dev/null"],
      {
        env: { ...process.env, NO_COLOR: undefined, TERM: "xterm" } as NodeJS.ProcessEnv,
        encoding: "utf8",
      },
    );
    assert.match(coloured.stdout, /\x1b\[31merror:/, "errors in red on a terminal");
    const plain = spawnSync(
      "script",
      ["-q", "-e", "-c", `${command} --state-dir ${join(w.dir, "nope")}`, "/dev/null"],
      {
        env: { ...process.env, NO_COLOR: "1", TERM: "xterm" },
        encoding: "utf8",
      },
    );
    assert.doesNotMatch(plain.stdout, /\x1b\[/, "NO_COLOR: no escape sequences");
    const piped = await syncLocalFast(w.state.root, w.memory, ["--force"]);
    assert.equal(piped.code, 0);
    assert.doesNotMatch(piped.stderr, /\r|\x1b/, "piped: no progress, no colour");
  });
});

describe("usage", () => {
  test("--help describes every flag and exits 0", async () => {
    const result = await sync(["--help"]);
    assert.equal(result.code, 0);
    for (const flag of [
      "--app",
      "--machine",
      "--ssh",
      "--local",
      "--state-dir",
      "--agent",
      "--memory",
      "--dry-run",
      "--json",
      "--force",
      "--allow-empty",
      "--timeout",
    ]) {
      assert.ok(result.stdout.includes(flag), flag);
    }
  });

  test("bad flags exit 2 with a sentence", async () => {
    for (const [args, pattern] of [
      [["--bogus"], /Unknown option '--bogus'/],
      [["--local", "--app", "x"], /--app and --local cannot be combined/],
      [[], /say where the bot is/],
      [["--local", "--timeout", "soon"], /--timeout soon is not a positive number/],
      [["--ssh", "user@@host"], /is not of the form \[user@\]host\[:port\]/],
    ] as [string[], RegExp][]) {
      const result = await sync(args, { FLY_APP: "" });
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, pattern);
    }
  });
});
