// scripts/lib/proc.mts: the runner for short child processes (output, exit code, time limit, a missing command)
// and POSIX shell quoting. Run: npx tsx test/run.mts proc
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { runProcess, shellQuote } from "../scripts/lib/proc.mts";

describe("runProcess", () => {
  test("collects stdout and stderr and the exit code", async () => {
    const result = await runProcess(["sh", "-c", "printf 'out\\n'; printf 'err' >&2; exit 3"]);
    assert.equal(result.code, 3);
    assert.equal(result.stdout, "out\n");
    assert.equal(result.stderr, "err");
    assert.equal(result.timedOut, false);
    assert.equal(result.missing, false);
  });
  test("passes input on stdin and the environment", async () => {
    const result = await runProcess(["sh", "-c", 'cat; printf "$OCSYNC_X"'], {
      input: "from stdin;",
      env: { ...process.env, OCSYNC_X: "from env" },
    });
    assert.equal(result.stdout, "from stdin;from env");
  });
  test("kills a command that runs past its time limit", async () => {
    const started = Date.now();
    const result = await runProcess(["sleep", "30"], { timeoutMs: 200 });
    assert.equal(result.timedOut, true);
    assert.equal(result.code, null);
    assert.equal(result.signal, "SIGKILL");
    assert.ok(Date.now() - started < 10_000);
  });
  test("a command that does not exist is missing, not a crash", async () => {
    const result = await runProcess(["/nonexistent/ocsync-no-such-command"]);
    assert.equal(result.missing, true);
    assert.equal(result.spawnError?.code, "ENOENT");
    assert.equal(result.code, null);
  });
});

describe("shellQuote", () => {
  test("plain words stay as they are", () => {
    assert.equal(shellQuote("/data/agents/main"), "/data/agents/main");
    assert.equal(shellQuote("-*.jsonl.bak.*"), "'-*.jsonl.bak.*'");
  });
  for (const text of ["it's", "a b", "$HOME", "", "x'y'z", "tab\there"]) {
    test(`a POSIX shell gets back ${JSON.stringify(text)}`, () => {
      const echoed = execFileSync("sh", ["-c", `printf %s ${shellQuote(text)}`], { encoding: "utf8" });
      assert.equal(echoed, text);
    });
  }
});
