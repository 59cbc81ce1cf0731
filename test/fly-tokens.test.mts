// Which Fly token sync needs, with the fake flyctl holding each kind of token as flyctl's source makes it
// (test/helpers/fake-flyctl.mjs, "Tokens"): the `ssh` token the README recommends lists the app's machines and
// opens the session, so discovery needs nothing more; a read-only token and a token for another app stop the run
// with one sentence, at once (no retries), and memory/ is not created.
// Run: npx tsx test/run.mts fly-tokens
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { runScript } from "./helpers/run.mts";
import { makeStateDir, type GeneratedStateDir } from "../scripts/dev/statedir.mts";
import { fakeFly, type FakeFly } from "./helpers/fly.mts";
import { tempDir } from "./helpers/tmp.mts";

const tmp = tempDir("tokens");

const TOKENS = {
  ssh: "FlyV1 fm2_ssh_token_for_my_bot",
  readonly: "FlyV1 fm2_readonly_token",
  other: "FlyV1 fm2_ssh_token_for_another_app",
} as const;

describe("Fly tokens", () => {
  let state: GeneratedStateDir;
  let fly: FakeFly;
  let runs = 0;
  before(() => {
    state = makeStateDir(join(tmp, "state"));
    fly = fakeFly(join(tmp, "fly"), state.root, {
      config: {
        tokens: {
          [TOKENS.ssh]: { kind: "ssh", app: "my-bot" },
          [TOKENS.readonly]: { kind: "readonly", app: "my-bot" },
          [TOKENS.other]: { kind: "ssh", app: "another-bot" },
        },
      },
    });
  });

  async function sync(token: string) {
    const memory = join(tmp, `memory-${++runs}`);
    const before = fly.calls().length;
    const result = await runScript(
      "sync-memory.mts",
      ["--app", "my-bot", "--state-dir", state.root, "--memory", memory],
      { env: { ...fly.env, FLY_API_TOKEN: token, OCSYNC_RETRY_DELAY_MS: "20" } },
    );
    assert.doesNotMatch(result.stdout + result.stderr, /fm2_/, "the token is never printed");
    return { ...result, memory, calls: fly.calls().slice(before) };
  }

  test("an ssh token lists the machines and syncs", async () => {
    const result = await sync(TOKENS.ssh);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(
      result.calls.some((argv) => argv.slice(0, 2).join(" ") === "machine list"),
      "discovery used the listing",
    );
    assert.ok(result.calls.some((argv) => argv.slice(0, 2).join(" ") === "ssh console"));
    assert.ok(existsSync(join(result.memory, "sessions", "sessions.json")));
  });

  test("an ssh token cannot start a machine (the error sentence says how to, for a person with more rights)", async () => {
    fly.config.apps["my-bot"].machines[0].state = "stopped";
    fly.save();
    try {
      const result = await sync(TOKENS.ssh);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /is not started .*'fly machine start 148e6d4c2e9d89 -a my-bot'/);
      assert.ok(!result.calls.some((argv) => argv[1] === "start"), "sync never starts a machine");
    } finally {
      fly.config.apps["my-bot"].machines[0].state = "started";
      fly.save();
    }
  });

  test("a read-only token fails at once with a sentence naming the token to create", async () => {
    const result = await sync(TOKENS.readonly);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^sync-memory: error: the Fly token may not open ssh sessions to "my-bot" \(a read-only token\?\): create one with 'fly tokens create ssh -a my-bot' and set it as FLY_API_TOKEN$/m,
    );
    assert.equal(result.calls.filter((argv) => argv[0] === "ssh").length, 1, "not retried");
    assert.equal(existsSync(result.memory), false);
  });

  test("a token for another app fails with a sentence", async () => {
    const result = await sync(TOKENS.other);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /Fly app "my-bot" was not found: check --app or FLY_APP, and that your token/,
    );
    assert.equal(existsSync(result.memory), false);
  });
});
