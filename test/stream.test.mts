// The transfer stream: the parser trusts nothing (library level), and a corrupting link is caught end to end.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { readRemoteStream, StreamError } from "../scripts/lib/remote/stream.mts";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { busyboxBin, fakeFly, setMachineEnv } from "./helpers/fly.mts";
import { ROOT, runScript } from "./helpers/run.mts";
import { snapshot } from "./helpers/tree.mts";
import { tempDir } from "./helpers/tmp.mts";

const tmp = tempDir("stream");
let n = 0;
const staging = () => {
  const dir = join(tmp, `s${++n}`);
  mkdirSync(dir);
  return dir;
};
const sha = (data: string) => createHash("sha256").update(data).digest("hex");
const file = (name: string, data: string, hash = sha(data), size = Buffer.byteLength(data)) =>
  `F ${size} ${hash} ${Buffer.from(name).toString("hex")}\n${data}\n`;
/** Feeds the stream in small pieces, as a network would. */
const source = (data: string | Buffer) => {
  const bytes = Buffer.from(data);
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 7) pieces.push(bytes.subarray(i, i + 7));
  return Readable.from(pieces);
};

async function rejects(data: string | Buffer, pattern: RegExp, kind?: StreamError["kind"]) {
  const dir = staging();
  await assert.rejects(readRemoteStream(source(data), { stagingDir: dir }), (error: unknown) => {
    assert.ok(error instanceof StreamError, String(error));
    assert.match(error.message, pattern);
    if (kind) assert.equal(error.kind, kind);
    return true;
  });
}

describe("readRemoteStream", () => {
  const a = '{"type":"session","version":3,"id":"a"}\n';
  const b = "{}";

  test("plain and gzip streams give the same files, checked", async () => {
    const text = `OCSYNC 2 stream\nI era files\n${file("a.jsonl", a)}${file("sessions.json", b)}${file("empty.jsonl", "")}E 0 3\n`;
    for (const data of [text, gzipSync(text)]) {
      const dir = staging();
      const result = await readRemoteStream(source(data), { stagingDir: dir });
      assert.deepEqual(
        result.files.map((f) => [f.name, f.size]),
        [
          ["a.jsonl", a.length],
          ["sessions.json", 2],
          ["empty.jsonl", 0],
        ],
      );
      assert.equal(result.info.era, "files");
      // staged under their sequence numbers, never under the bot's names
      assert.deepEqual(readdirSync(dir).sort(), ["1", "2", "3"]);
      assert.deepEqual(
        result.files.map((f) => readFileSync(f.path!, "utf8")),
        [a, b, ""],
      );
    }
  });

  test("a stream that arrives in one piece, then ends", async () => {
    const text = `OCSYNC 2 stream\n${file("a.jsonl", a)}E 0 1\n`;
    for (const data of [text, gzipSync(text)]) {
      const result = await readRemoteStream(Readable.from([Buffer.from(data)]), { stagingDir: staging() });
      assert.deepEqual(
        result.files.map((f) => f.name),
        ["a.jsonl"],
      );
    }
  });
  test("a wrong hash is a mismatch", () =>
    rejects(
      `OCSYNC 2 stream\n${file("a.jsonl", a, sha("other"))}E 0 1\n`,
      /a\.jsonl arrived with a different sha256/,
      "mismatch",
    ));
  test("an unsafe name is refused", () =>
    rejects(`OCSYNC 2 stream\n${file("../a.jsonl", a)}E 0 1\n`, /unsafe file "\.\.\/a\.jsonl"/));
  test("any byte but '/' and NUL travels: backslash, CR, newline, non-UTF-8; two names differing in one such byte", async () => {
    const names = ["a\\b.jsonl", "a\rb.jsonl", "a\nb.jsonl", ".hidden"];
    const raw = [Buffer.from([0x61, 0xff, 0x2e]), Buffer.from([0x61, 0xfe, 0x2e])];
    const record = (name: Buffer, data: string) =>
      Buffer.concat([Buffer.from(`F ${data.length} ${sha(data)} ${name.toString("hex")}\n${data}\n`)]);
    const data = Buffer.concat([
      Buffer.from("OCSYNC 2 stream\n"),
      ...names.map((n) => record(Buffer.from(n), n)),
      ...raw.map((n) => record(n, n.toString("hex"))),
      Buffer.from(`E 0 ${names.length + raw.length}\n`),
    ]);
    const result = await readRemoteStream(source(data), { stagingDir: staging() });
    assert.deepEqual(
      result.files.map((f) => f.name),
      [...names, "a%FF.", "a%FE."],
    );
    assert.deepEqual(
      result.files.slice(-2).map((f) => f.rawName),
      raw,
    );
    for (const f of result.files.slice(0, names.length)) assert.equal(readFileSync(f.path!, "utf8"), f.name);
  });
  test("a name with '/' or NUL, or not hex, is refused", async () => {
    await rejects(`OCSYNC 2 stream\nF 0 ${sha("")} 612f62\n\nE 0 1\n`, /unsafe file "a\/b"/);
    await rejects(`OCSYNC 2 stream\nF 0 ${sha("")} 610062\n\nE 0 1\n`, /unsafe file/);
    await rejects(`OCSYNC 2 stream\nF 0 ${sha("")} a.jsonl\n\nE 0 1\n`, /name is not hex/);
  });
  test("a name sent twice is refused", () =>
    rejects(`OCSYNC 2 stream\n${file("a.jsonl", a)}${file("a.jsonl", a)}E 0 2\n`, /sends a\.jsonl twice/));
  test("a stream cut inside a file", () =>
    rejects(
      `OCSYNC 2 stream\n${file("a.jsonl", a).slice(0, file("a.jsonl", a).indexOf("\n") + 10)}`,
      /ended in the middle of a\.jsonl/,
      "truncated",
    ));
  test("a stream without its end record", () =>
    rejects(`OCSYNC 2 stream\n${file("a.jsonl", a)}`, /ended before its end record/, "truncated"));
  test("the remote's own failure status", () =>
    rejects(`OCSYNC 2 stream\n${file("a.jsonl", a)}E 4 1\n`, /reported failure \(status 4\)/, "remote"));
  test("fewer files than announced", () =>
    rejects(`OCSYNC 2 stream\n${file("a.jsonl", a)}E 0 2\n`, /announced 2 files but sent 1/));
  test("bytes after the end", () => rejects(`OCSYNC 2 stream\nE 0 0\nmore`, /data after the end/));
  test("anything else on stdout", () =>
    rejects(`Warning: a PTY is being forced\nOCSYNC 2 stream\nE 0 0\n`, /does not start like a sync stream/));
  test("a damaged gzip stream", () => {
    const gz = gzipSync(`OCSYNC 2 stream\n${file("a.jsonl", a)}E 0 1\n`);
    return rejects(gz.subarray(0, gz.length - 6), /ended early or is damaged/, "truncated");
  });
  test("nothing at all", () => rejects("", /sent nothing/, "truncated"));
  test("a manifest's U record gives the unfinished last line of the file listed just before it", async () => {
    const listed = (name: string, data: string) =>
      `F ${Buffer.byteLength(data)} ${sha(data)} ${Buffer.from(name).toString("hex")}\n`;
    const result = await readRemoteStream(
      source(`OCSYNC 2 manifest\n${listed("a.jsonl", `${a}{"par`)}U 5\n${listed("b.jsonl", a)}E 0 2\n`),
      {},
    );
    assert.deepEqual(
      result.files.map((f) => [f.name, f.unfinishedBytes]),
      [
        ["a.jsonl", 5],
        ["b.jsonl", undefined],
      ],
    );
    const manifest = (records: string) => rejects(`OCSYNC 2 manifest\n${records}`, /unfinished-line record/);
    await manifest(`U 5\n${listed("a.jsonl", a)}E 0 1\n`); // before any file
    await manifest(`${listed("a.jsonl", a)}U 999\nE 0 1\n`); // longer than the file
    await manifest(`${listed("a.jsonl", a)}U 1\nU 1\nE 0 1\n`); // twice
    await manifest(`${listed("a.jsonl", a)}S 62 symlink\nU 1\nE 0 1\n`); // not right after it
    await rejects(`OCSYNC 2 stream\n${file("a.jsonl", a)}U 1\nE 0 1\n`, /unknown record/); // only in a listing
  });
});

describe("pull.sh's listing (what a dry run reads)", () => {
  // dash (this machine's sh) and BusyBox ash with only BusyBox's tools, as on a minimal bot image.
  for (const shell of ["sh", "busybox"] as const) {
    test(`names the transcript caught mid-append and how long its unfinished line is (${shell})`, async () => {
      const dir = join(tmp, `listing-${shell}`);
      const state = makeStateDir(join(dir, "state"), { secondAgent: false });
      const [partialName, unfinished] = state.agents[0].partial!;
      const env: Record<string, string> = { LC_ALL: "C" };
      if (shell === "busybox") env.PATH = busyboxBin(dir);
      else env.PATH = process.env.PATH!;
      const listing = spawnSync(
        shell === "busybox" ? join(env.PATH, "sh") : "sh",
        ["-s", "--", "manifest", state.root, "main", "+*"],
        { input: readFileSync(join(ROOT, "scripts", "lib", "remote", "pull.sh")), env },
      );
      assert.equal(listing.status, 0, String(listing.stderr));
      const result = await readRemoteStream(Readable.from([listing.stdout]), {});
      const unfinishedFiles = result.files.filter((f) => f.unfinishedBytes !== undefined);
      assert.deepEqual(
        unfinishedFiles.map((f) => [f.name, f.unfinishedBytes]),
        [[partialName, Buffer.byteLength(unfinished)]],
      );
      assert.ok(result.files.length > 5, "the whole folder is listed");
    });
  }
});

describe("a corrupting link, end to end", () => {
  test("a flipped bit in an uncompressed stream is a hash mismatch: retried, then refused; memory/ untouched", async () => {
    const dir = join(tmp, "flip");
    const bin = busyboxBin(dir, ["gzip"]); // a remote without gzip sends the plain format
    const state = makeStateDir(join(dir, "state"));
    // Byte 600 is inside the first file's data (after the header, `I now` and the file's Q and F records).
    const fly = fakeFly(dir, state.root, { config: { faults: { flipByteAt: 600, match: " stream " } } });
    setMachineEnv(fly, { PATH: bin });
    const memory = join(dir, "memory");
    const result = await runScript(
      "sync-memory.mts",
      ["--app", "my-bot", "--state-dir", state.root, "--memory", memory],
      {
        env: { ...fly.env, OCSYNC_RETRY_DELAY_MS: "20" },
      },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /error: the transfer from Fly app "my-bot" .* is incomplete: .* arrived with a different sha256 .*\(tried 3 times\)/,
    );
    assert.deepEqual(snapshot(memory), {});
    const transfers = fly.calls().filter((argv) => argv.join(" ").includes(" stream "));
    assert.equal(transfers.length, 3, "a mismatch makes the whole transfer run again");
    // Without the fault the same plain stream is fine.
    fly.config.faults = {};
    fly.save();
    const clean = await runScript(
      "sync-memory.mts",
      ["--app", "my-bot", "--state-dir", state.root, "--memory", memory],
      { env: fly.env },
    );
    assert.equal(clean.code, 0, clean.stderr);
  });
});
