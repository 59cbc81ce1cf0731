// secrets.mts: detection with secretlint's preset (offline), redaction that keeps JSON valid, the prefilter,
// streaming redaction, and verify never echoing a secret.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  SECRET_RULES,
  SecretScanner,
  createRedactState,
  hasCandidate,
  redactJsonlChunk,
  redactLine,
  scanLine,
} from "../scripts/lib/secrets.mts";
import { runScript } from "./helpers/run.mts";
import { SAMPLES, secretPart } from "./helpers/secrets-samples.mts";
import { tempDir } from "./helpers/tmp.mts";

const userLine = (text: string) =>
  JSON.stringify({
    type: "message",
    id: "813a837d",
    parentId: "f9317ee6",
    timestamp: "2026-04-07T02:05:10.858Z",
    message: { role: "user", content: [{ type: "text", text }], timestamp: 1775527510857 },
  });
const toolLine = (text: string) =>
  JSON.stringify({
    type: "message",
    id: "913a837d",
    parentId: "813a837d",
    timestamp: "2026-04-07T02:05:12.000Z",
    message: {
      role: "toolResult",
      toolCallId: "call_1",
      toolName: "exec",
      content: [{ type: "text", text: `$ env\nHOME=/home/node\n${text}\nPATH=/usr/bin` }],
    },
  });

describe("secret detection", () => {
  test("the rules come from secretlint's recommended preset, minus filter-comments and gcp", () => {
    const ids = SECRET_RULES.map((rule) => rule.id);
    for (const id of [
      "github",
      "gitlab",
      "slack",
      "stripe",
      "aws",
      "openai",
      "anthropic",
      "privatekey",
      "database-connection-string",
    ]) {
      assert.ok(ids.includes(`@secretlint/secretlint-rule-${id}`), id);
    }
    assert.ok(!ids.includes("@secretlint/secretlint-rule-filter-comments"));
  });

  for (const [kind, sample] of Object.entries(SAMPLES)) {
    test(`${kind}: found in message text and in tool output, redacted, JSON stays valid`, () => {
      for (const line of [userLine(`please use ${sample} thanks`), toolLine(sample)]) {
        assert.ok(hasCandidate(line), "the prefilter lets the line through");
        assert.deepEqual(scanLine(line), [kind]);
        const { text, kinds } = redactLine(line);
        assert.deepEqual(kinds, [kind]);
        assert.ok(!text.includes(secretPart(kind)), "the secret is gone");
        assert.ok(text.includes(`[REDACTED:${kind}]`));
        const value = JSON.parse(text);
        assert.equal(value.id, JSON.parse(line).id, "the rest of the line is intact");
      }
    });
  }

  test("a token right after an escaped newline is found (rules see decoded strings too)", () => {
    const line = userLine(`first line\n${SAMPLES.GITHUB_TOKEN}`);
    assert.deepEqual(scanLine(line), ["GITHUB_TOKEN"]);
    const { text } = redactLine(line);
    assert.ok(!text.includes(SAMPLES.GITHUB_TOKEN));
    assert.equal(JSON.parse(text).message.content[0].text, "first line\n[REDACTED:GITHUB_TOKEN]");
  });

  test("several secrets on one line are all counted and replaced", () => {
    const line = userLine(
      `${SAMPLES.GITHUB_TOKEN} and ${SAMPLES.STRIPE_SECRET_KEY_LIVE} and ${SAMPLES.GITHUB_TOKEN}`,
    );
    const { text, kinds } = redactLine(line);
    assert.ok(kinds.includes("GITHUB_TOKEN") && kinds.includes("STRIPE_SECRET_KEY_LIVE"));
    assert.ok(!text.includes(SAMPLES.GITHUB_TOKEN) && !text.includes(SAMPLES.STRIPE_SECRET_KEY_LIVE));
    JSON.parse(text);
  });

  test("a line without secrets comes back as the same string", () => {
    const line = userLine("Move DE-16 to the top; see https://example.com/docs and task_list-2 for details.");
    const result = redactLine(line);
    assert.equal(result.text, line);
    assert.deepEqual(result.kinds, []);
    assert.deepEqual(scanLine(line), []);
  });

  test("ordinary transcript text is not flagged (dates, UUIDs, snake_case, URLs without credentials)", () => {
    const text =
      "2026-04-07T02:05:10.858Z f87ddd9f-6369-4319-a29b-75eedb4d7c5d load_config() MAX_RETRIES https://user@example.com/x access granted, success";
    assert.deepEqual(scanLine(userLine(text)), []);
  });

  test("an allow list (secretlint `allows`) silences a known false positive", () => {
    const line = userLine(`fixture ${SAMPLES.GITHUB_TOKEN}`);
    const scanner = new SecretScanner({ allows: [SAMPLES.GITHUB_TOKEN] });
    assert.deepEqual(scanner.scanLine(line), []);
    assert.deepEqual(new SecretScanner({ allows: ["/^ghp_/"] }).scanLine(line), []);
  });
});

describe("streaming redaction (redactJsonlChunk)", () => {
  test("any chunking gives the same bytes as per-line redaction, with counts per kind", () => {
    const lines = [
      JSON.stringify({ type: "session", version: 3, id: "s1", timestamp: "2026-04-07T02:04:55.700Z" }),
      userLine(`key ${SAMPLES.GITHUB_TOKEN}`),
      userLine("nothing here — äöü 🙂"),
      toolLine(SAMPLES.AWSSecretAccessKey),
      userLine(`${SAMPLES.SLACK_TOKEN} ${SAMPLES.GITLAB_PERSONAL_ACCESS_TOKEN}`),
    ];
    const input = Buffer.from(`${lines.join("\n")}\n${userLine("unfinished").slice(0, 30)}`);
    const expected = Buffer.from(
      `${lines.map((line) => redactLine(line).text).join("\n")}\n${userLine("unfinished").slice(0, 30)}`,
    );
    for (const size of [1, 7, 64, 333, input.length]) {
      const state = createRedactState();
      const out: Buffer[] = [];
      for (let at = 0; at < input.length; at += size)
        out.push(redactJsonlChunk(state, input.subarray(at, at + size)));
      out.push(redactJsonlChunk(state, null));
      const result = Buffer.concat(out);
      assert.equal(result.toString("utf8"), expected.toString("utf8"), `chunk size ${size}`);
      assert.equal(state.redactions, 4);
      assert.deepEqual(state.kinds, {
        GITHUB_TOKEN: 1,
        AWSSecretAccessKey: 1,
        SLACK_TOKEN: 1,
        GITLAB_PERSONAL_ACCESS_TOKEN: 1,
      });
      assert.deepEqual(state.lines, [2, 4, 5]);
      for (const line of result.toString("utf8").split("\n").slice(0, -1)) JSON.parse(line);
    }
  });
});

describe("verify reports secrets without printing them", () => {
  test("path:line: KIND for each planted secret, exit 1, secret absent from stdout and stderr (text and --json)", async () => {
    const root = tempDir("secrets");
    const sessions = join(root, "memory", "sessions");
    mkdirSync(sessions, { recursive: true });
    const header = JSON.stringify({
      type: "session",
      version: 3,
      id: "abc",
      timestamp: "2026-04-07T02:04:55.700Z",
    });
    // Two transcripts (at most 20 problems are listed per file), a secret on every line after the header.
    const kinds = Object.keys(SAMPLES);
    const half = Math.ceil(kinds.length / 2);
    const files: Array<[string, string[]]> = [
      ["abc.jsonl", kinds.slice(0, half)],
      ["def.jsonl", kinds.slice(half)],
    ];
    for (const [name, planted] of files) {
      const lines = [
        header,
        ...planted.map((kind, i) => (i % 2 ? toolLine(SAMPLES[kind]) : userLine(`here: ${SAMPLES[kind]}`))),
      ];
      writeFileSync(join(sessions, name), `${lines.join("\n")}\n`);
    }
    writeFileSync(
      join(sessions, "sessions.json"),
      JSON.stringify(
        {
          "agent:main:main": { sessionId: "abc", updatedAt: 1 },
          "agent:main:other": { sessionId: "def", updatedAt: 1 },
        },
        null,
        2,
      ),
    );
    const expected = files.flatMap(([name, planted]) =>
      planted.map((kind, i) => [`memory/sessions/${name}`, i + 2, kind]),
    );
    for (const args of [[], ["--json"]]) {
      const result = await runScript("verify.mts", args, { cwd: root });
      assert.equal(result.code, 1, result.stderr);
      for (const kind of kinds) {
        assert.ok(!result.stdout.includes(secretPart(kind)), `${kind} not on stdout`);
        assert.ok(!result.stderr.includes(secretPart(kind)), `${kind} not on stderr`);
      }
      if (args.length === 0) {
        const reported = result.stdout
          .trim()
          .split("\n")
          .map((line) =>
            /^(.+?):(\d+): error: (\S+) \(secret found by @secretlint\/secretlint-rule-[a-z0-9-]+\)$/
              .exec(line)!
              .slice(1),
          );
        assert.deepEqual(
          reported,
          expected.map(([path, line, kind]) => [path, String(line), kind]),
        );
      } else {
        const report = JSON.parse(result.stdout);
        assert.deepEqual(
          report.problems.map((p: { path: string; kind: string; line: number }) => [p.path, p.line, p.kind]),
          expected,
        );
      }
    }
    // A false positive listed in memory/.secretsallow is no longer reported.
    writeFileSync(join(root, "memory", ".secretsallow"), `# test fixtures\n${SAMPLES.GITHUB_TOKEN}\n`);
    const allowed = await runScript("verify.mts", ["--json"], { cwd: root });
    const kindsLeft = JSON.parse(allowed.stdout).problems.map((p: { kind?: string }) => p.kind);
    assert.ok(!kindsLeft.includes("GITHUB_TOKEN"));
    assert.ok(kindsLeft.includes("STRIPE_SECRET_KEY_LIVE"));
  });
});
