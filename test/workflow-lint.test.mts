// Lints .github/workflows/*.yml offline with GitHub's own workflow parser (@actions/workflow-parser, the schema
// and expression parser behind the Actions language service: it knows today's syntax, `vars` included), with no
// message tolerated. On top of the schema, three checks the parser leaves out: every `steps.<id>` an expression
// reads is an earlier step of the same job, every `needs.<job>` is a job the job needs, and no `run:` script
// expands untrusted event text (`github.event.*`, `github.head_ref`) into the shell.
// Run: npx tsx test/run.mts workflow-lint
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";
import { parse } from "yaml";
import { ROOT } from "./helpers/run.mts";

const WORKFLOWS = join(ROOT, ".github", "workflows");

interface RawStep {
  id?: string;
  run?: string;
  [key: string]: unknown;
}
interface RawJob {
  needs?: string | string[];
  steps?: RawStep[];
  [key: string]: unknown;
}

/** Every problem in one workflow's text, as "FILE (Line: L, Col: C): message" or "FILE: job J: message". */
async function lintWorkflow(name: string, content: string): Promise<string[]> {
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const problems = parsed.context.errors.getErrors().map((error) => error.message);
  if (parsed.value) {
    const template = await convertWorkflowTemplate(parsed.context, parsed.value);
    for (const error of template.errors ?? []) {
      if (!problems.includes(error.Message)) problems.push(error.Message);
    }
  }
  if (problems.length) return problems;
  const workflow = parse(content) as { jobs: Record<string, RawJob> };
  for (const [jobId, job] of Object.entries(workflow.jobs)) {
    const needs = new Set(typeof job.needs === "string" ? [job.needs] : (job.needs ?? []));
    const { steps = [], ...rest } = job;
    const seen = new Set<string>();
    const expressions = (value: unknown) => [
      ...JSON.stringify(value ?? "").matchAll(/\$\{\{([\s\S]*?)\}\}/g),
    ];
    const check = (value: unknown, where: string, stepIds: Set<string> | undefined) => {
      for (const [, expr] of expressions(value)) {
        for (const [, id] of expr.matchAll(/\bsteps\.([A-Za-z0-9_-]+)/g)) {
          if (!stepIds?.has(id))
            problems.push(`${name}: job ${jobId}: ${where} reads steps.${id}, no earlier step`);
        }
        for (const [, id] of expr.matchAll(/\bneeds\.([A-Za-z0-9_-]+)/g)) {
          if (!needs.has(id))
            problems.push(`${name}: job ${jobId}: ${where} reads needs.${id}, not in needs`);
        }
      }
    };
    for (const [index, step] of steps.entries()) {
      const where = `step ${step.id ?? index + 1}`;
      check(step, where, seen);
      if (step.run && /\$\{\{[^}]*\b(github\.event\.|github\.head_ref)/.test(step.run))
        problems.push(`${name}: job ${jobId}: ${where} expands untrusted event text into its script`);
      if (step.id) seen.add(step.id);
    }
    check(rest.outputs, "outputs", seen);
    const { outputs: _outputs, ...others } = rest;
    check(others, "job settings", undefined);
  }
  return problems;
}

test("every workflow lints clean with GitHub's workflow parser, nothing tolerated", async () => {
  const files = readdirSync(WORKFLOWS).filter((name) => /\.ya?ml$/.test(name));
  assert.deepEqual(files.sort(), ["sync-memory.yml", "test.yml"]);
  for (const name of files) {
    const path = join(".github", "workflows", name);
    assert.deepEqual(
      await lintWorkflow(path, readFileSync(join(ROOT, path), "utf8")),
      [],
      `${name} has problems`,
    );
  }
});

test("the linter does catch mistakes (it is not silently passing)", async () => {
  const broken = [
    "on: push",
    "jobs:",
    "  a:",
    "    runs-on: ubuntu-latest",
    "    timeout-minute: 5",
    "    steps:",
    "      - run: echo ${{ fromJSON( }}",
    "      - run: echo ${{ varz.FLY_APP }}",
  ].join("\n");
  const problems = await lintWorkflow("broken.yml", broken);
  assert.deepEqual(problems, [
    "broken.yml (Line: 5, Col: 5): Unexpected value 'timeout-minute'",
    "broken.yml (Line: 7, Col: 14): Unexpected end of expression: '('",
    "broken.yml (Line: 8, Col: 14): Unrecognized named-value: 'varz'",
  ]);
  const references = [
    "on: push",
    "jobs:",
    "  a:",
    "    runs-on: ubuntu-latest",
    "    outputs:",
    "      x: ${{ steps.later.outputs.x }}",
    "    steps:",
    "      - run: echo ${{ steps.later.outputs.x }} ${{ vars.FLY_APP }}",
    "      - id: later",
    '        run: echo "${{ github.event.head_commit.message }}"',
    "  b:",
    "    needs: a",
    "    runs-on: ubuntu-latest",
    "    strategy:",
    "      matrix:",
    "        t: ${{ fromJSON(needs.c.outputs.x) }}",
    "    steps:",
    "      - run: echo ${{ needs.a.outputs.x }}",
    "  c:",
    "    runs-on: ubuntu-latest",
    "    steps:",
    "      - run: echo ${{ needs.a.outputs.x }}",
  ].join("\n");
  assert.deepEqual(await lintWorkflow("refs.yml", references), [
    "refs.yml: job a: step 1 reads steps.later, no earlier step",
    "refs.yml: job a: step later expands untrusted event text into its script",
    "refs.yml: job b: job settings reads needs.c, not in needs",
    "refs.yml: job c: step 1 reads needs.a, not in needs",
  ]);
  assert.deepEqual(
    await lintWorkflow(
      "needs.yml",
      "on: push\njobs:\n  a:\n    needs: nope\n    runs-on: x\n    steps:\n      - run: a\n",
    ),
    ["needs.yml (Line: 3, Col: 3): The workflow must contain at least one job with no dependencies."],
  );
});
