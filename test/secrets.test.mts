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
import { verify } from "../scripts/lib/verify.mts";
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
  test("the rules come from secretlint's recommended preset, minus filter-comments and gcp, plus this project's", () => {
    const ids = SECRET_RULES.map((rule) => rule.id);
    for (const name of [
      "google-api-key",
      "aws-access-key-id",
      "fly-token",
      "telegram-bot-token",
      "openrouter",
    ])
      assert.ok(ids.includes(`openclaw-memory-sync/secret-${name}`), name);
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

  // Every form an encoder may give a string: the forms below are the raw line's, the secret's text must be gone
  // from all of them after redaction, and verify's scan must see what redaction removes.
  const escapeSlashes = (line: string) => line.replace(/\//g, "\\/");
  const escapeAscii = (text: string) =>
    [...text].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");
  /** The line as given, its strings decoded, and any JSON inside those strings decoded again. */
  const forms = (line: string): string[] => {
    const out = [line];
    const walk = (value: unknown, depth: number) => {
      if (typeof value === "string") {
        out.push(value);
        if (depth < 3 && /^\s*[[{"]/.test(value)) {
          try {
            walk(JSON.parse(value), depth + 1);
          } catch {
            // not JSON
          }
        }
      } else if (Array.isArray(value)) value.forEach((v) => walk(v, depth));
      else if (value && typeof value === "object")
        for (const [k, v] of Object.entries(value)) {
          out.push(k);
          walk(v, depth);
        }
    };
    try {
      walk(JSON.parse(line), 0);
    } catch {
      // a line that is not JSON: the raw text only
    }
    return out;
  };
  const encodings: Record<string, (sample: string) => string> = {
    "`\\/` escapes (PHP's json_encode)": (sample) => escapeSlashes(toolLine(sample)),
    "ASCII as \\uXXXX escapes": (sample) =>
      `{"type":"message","id":"a1","message":{"role":"user","content":[{"type":"text","text":"${escapeAscii(sample)}"}]}}`,
    "a plain copy next to a \\uXXXX copy": (sample) =>
      `{"type":"message","id":"a1","a":${JSON.stringify(`plain ${sample}`)},"b":"escaped ${escapeAscii(sample)}"}`,
    "JSON with `\\/` inside a tool result (two levels)": (sample) =>
      toolLine(escapeSlashes(JSON.stringify({ ok: true, data: { config: `${sample}` } }))),
    "after a surrogate pair and a tab": (sample) =>
      `{"type":"message","id":"a1","text":"\\ud83d\\ude00\\t${JSON.stringify(sample).slice(1, -1)}"}`,
  };
  for (const [name, encode] of Object.entries(encodings)) {
    test(`found and redacted in every form: ${name}`, () => {
      for (const [kind, sample] of Object.entries(SAMPLES)) {
        const line = encode(sample);
        JSON.parse(line); // the fixture is valid JSON
        assert.ok(hasCandidate(line), `${kind}: the prefilter lets the line through`);
        const kinds = scanLine(line);
        assert.ok(kinds.length >= 1 && kinds.every((k) => k === kind), `${kind}: found (${kinds})`);
        const { text, kinds: redacted } = redactLine(line);
        assert.deepEqual(redacted, kinds, `${kind}: redaction counts what the scan reports`);
        const value = JSON.parse(text);
        assert.equal(value.id ?? value.type, JSON.parse(line).id ?? JSON.parse(line).type);
        for (const form of forms(text))
          assert.ok(
            !form.includes(secretPart(kind)),
            `${kind}: gone from ${JSON.stringify(form.slice(0, 60))}`,
          );
        assert.ok(text.includes(`[REDACTED:${kind}]`), kind);
        assert.deepEqual(scanLine(text), [], `${kind}: nothing left for verify`);
      }
    });
  }

  test("redaction rewrites only the string that held the secret; every other byte stays", () => {
    const token = SAMPLES.GITHUB_TOKEN;
    const line = `{"a":"keep \\/ this \\u00e9","b":"x ${escapeAscii(token)} y","n":1.50,"c":[true,null]}`;
    const { text } = redactLine(line);
    assert.equal(
      text,
      `{"a":"keep \\/ this \\u00e9","b":"x [REDACTED:GITHUB_TOKEN] y","n":1.50,"c":[true,null]}`,
    );
  });

  test("a line that is not JSON (a truncated last line, a notes file) is redacted as text", () => {
    const token = SAMPLES.GITHUB_TOKEN;
    for (const line of [`{"a":"${escapeAscii(token)}`, `notes: ${token} and gh\\u0070_${token.slice(4)}`]) {
      assert.equal(scanLine(line).length >= 1, true, line.slice(0, 30));
      const { text } = redactLine(line);
      assert.ok(!text.includes(token) && !text.includes(token.slice(4)), text);
      assert.deepEqual(scanLine(text), []);
    }
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
      "2026-04-07T02:05:10.858Z f87ddd9f-6369-4319-a29b-75eedb4d7c5d load_config() MAX_RETRIES https://user@example.com/x access granted, success" +
      " pizza AIzaShort AKIAIOSFODNN7EXAMPLE ASIA 12:AAB fm2_short sk-or-v1-abc \u001b[32mok\u001b[0m \ud83d\ude00";
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

/** A temporary `<root>/memory/sessions` for verify to read. */
function memoryFolder(name: string): { root: string; sessions: string } {
  const root = tempDir(name);
  const sessions = join(root, "memory", "sessions");
  mkdirSync(sessions, { recursive: true });
  return { root, sessions };
}

/** A transcript's `session` header line (no newline). */
const sessionHeader = (id: string) =>
  JSON.stringify({ type: "session", version: 3, id, timestamp: "2026-04-07T02:04:55.700Z" });

describe("verify and sync's redaction share one scanner", () => {
  test("verify reports every escaped form on its line; after sync's streaming redaction it reports none", async () => {
    const { root, sessions } = memoryFolder("secrets-forms");
    const header = sessionHeader("s1");
    const ascii = (text: string) =>
      [...text].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");
    const lines = [
      header,
      toolLine(JSON.stringify({ key: SAMPLES.PrivateKey })).replace(/\//g, "\\/"),
      `{"type":"message","id":"x2","a":${JSON.stringify(SAMPLES.GITHUB_TOKEN)},"b":"${ascii(SAMPLES.GITHUB_TOKEN)}"}`,
      userLine("nothing to see — \u001b[32mgreen\u001b[0m"),
      toolLine(JSON.stringify({ url: SAMPLES.BasicAuth }).replace(/\//g, "\\/")),
    ];
    const input = Buffer.from(`${lines.join("\n")}\n`);
    writeFileSync(join(sessions, "s1.jsonl"), input);
    writeFileSync(
      join(sessions, "sessions.json"),
      JSON.stringify({ "agent:main:main": { sessionId: "s1", updatedAt: 1 } }),
    );
    const secrets = async () =>
      (await verify(["memory"], { cwd: root })).problems
        .filter((p) => p.code === "secret")
        .map((p) => [p.line, p.kind]);
    assert.deepEqual(await secrets(), [
      [2, "PrivateKey"],
      [3, "GITHUB_TOKEN"],
      [3, "GITHUB_TOKEN"],
      [5, "BasicAuth"],
    ]);
    const state = createRedactState();
    const out = Buffer.concat([
      redactJsonlChunk(state, input.subarray(0, 100)),
      redactJsonlChunk(state, input.subarray(100)),
      redactJsonlChunk(state, null),
    ]);
    assert.equal(state.redactions, 4, "sync redacts what verify reports");
    assert.deepEqual(state.lines, [2, 3, 5]);
    writeFileSync(join(sessions, "s1.jsonl"), out);
    assert.deepEqual(await secrets(), []);
    for (const line of out.toString("utf8").trimEnd().split("\n")) JSON.parse(line);
  });
});

describe("verify reports secrets without printing them", () => {
  test("path:line: KIND for each planted secret, exit 1, secret absent from stdout and stderr (text and --json)", async () => {
    const { root, sessions } = memoryFolder("secrets");
    const header = sessionHeader("abc");
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
            /^(.+?):(\d+): error: (\S+) \(secret found by (?:@secretlint\/secretlint-rule-|openclaw-memory-sync\/secret-)[a-z0-9-]+\)$/
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
