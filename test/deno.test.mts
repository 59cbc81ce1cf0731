// Every script also runs under Deno (from npm): --help, and the demo sync, as a user would run them.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { globby } from "globby";
import { ROOT, runCommand } from "./helpers/run.mts";
import { tempDir } from "./helpers/tmp.mts";

const deno = join(ROOT, "node_modules", ".bin", "deno");
const tmp = tempDir("deno");
const env = { DENO_DIR: join(tmp, "deno-dir"), DENO_NO_UPDATE_CHECK: "1" };

describe("Deno", () => {
  test("deno is installed from npm", () => assert.ok(existsSync(deno), `${deno} (npm ci installs it)`));

  test("every script's --help works under deno run -A", async () => {
    const scripts = (await globby("scripts/*.mts", { cwd: ROOT })).sort();
    assert.ok(scripts.length >= 5, `found ${scripts.join(", ")}`);
    for (const script of scripts) {
      const result = await runCommand(deno, ["run", "-A", script, "--help"], { env });
      assert.equal(result.code, 0, `${script}: ${result.stderr}`);
      assert.match(result.stdout, /Usage: /, script);
    }
  });

  test("the demo sync works under Deno and gives the same files as under Node", async () => {
    const memory = join(tmp, "memory");
    const state = join(ROOT, "sample", "openclaw-state");
    const result = await runCommand(
      deno,
      ["run", "-A", "scripts/sync-memory.mts", "--local", "--state-dir", state, "--memory", memory, "--json"],
      { env },
    );
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.files.new, 11);
    for (const name of readdirSync(join(memory, "sessions"))) {
      const cloud = readFileSync(join(state, "agents", "main", "sessions", name));
      const local = readFileSync(join(memory, "sessions", name));
      assert.ok(cloud.subarray(0, local.length).equals(local), `${name} matches the sample`);
    }
    // The demo leaves its result for the user to look at: in this test's temporary folder.
    const demo = await runCommand(deno, ["run", "-A", "scripts/demo.mts"], { env: { ...env, TMPDIR: tmp } });
    assert.equal(demo.code, 0, demo.stderr);
    assert.match(demo.stdout, /The history is in .*openclaw-memory-demo-.*memory/);
    assert.ok(demo.stdout.includes(`The history is in ${join(tmp, "openclaw-memory-demo-")}`), demo.stdout);
  });
});
