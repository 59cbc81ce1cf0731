// sync-memory.mts --app through a fake flyctl that behaves as flyctl is documented to, the terminal conventions
// and usage, driven as a user would: the real script as a child process, real files. sync --local is in
// sync.test.mts and sync-guards.test.mts.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startScript } from "./helpers/run.mts";
import { machine } from "./helpers/fly.mts";
import { assertExactCopy, snapshot } from "./helpers/tree.mts";
import { tempDir } from "./helpers/tmp.mts";
import { assertCleanFailure, sync, syncLocalFast, withFakeFly, workspaces } from "./helpers/sync-case.mts";

const tmp = tempDir("sync-app");

const workspace = workspaces(tmp);
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
      // The program travels on stdin, gzip-compressed and unpacked by the bot's gzip; no PTY, no bare sh.
      assert.match(
        argv[8],
        /^sh -c '[^']*gzip -dc[^']*' sh sh -s -- /,
        "the program travels on stdin; no PTY, no bare sh",
      );
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
