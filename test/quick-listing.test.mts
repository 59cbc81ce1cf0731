// pull.sh's quick check (`manifest %quick`): one `stat` of the sessions folder, nothing read — sizes, mtimes and
// inodes of the files the filters choose, the same S records as the hashing listing, any name byte-exact; and in
// `stream %quick`, each file's stat just before its F record. Run by dash and BusyBox sh, read by the sync's reader.
// Run: npx tsx test/run.mts quick-listing
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { readRemoteStream } from "../scripts/lib/remote/stream.mts";
import { remoteFilterArgs } from "../scripts/lib/openclaw/files.mts";
import { globEscape } from "../scripts/lib/sync/plan-transfer.mts";
import { ROOT } from "./helpers/run.mts";
import { tempDir } from "./helpers/tmp.mts";

const PULL = readFileSync(join(ROOT, "scripts", "lib", "remote", "pull.sh"));
const tmp = tempDir("quick");
const state = join(tmp, "state");
const sessions = join(state, "agents", "main", "sessions");
before(() => {
  mkdirSync(join(sessions, "a-folder"), { recursive: true });
  writeFileSync(join(sessions, "a.jsonl"), "a\n");
  writeFileSync(join(sessions, "new\nline.jsonl"), "bb\n");
  writeFileSync(join(sessions, "-dash.jsonl"), "x");
  writeFileSync(join(sessions, ".hidden.jsonl"), "");
  writeFileSync(join(sessions, "sessions.json"), "{}");
  writeFileSync(join(sessions, "x.lock"), "1");
  writeFileSync(join(sessions, "h1.jsonl"), "y");
  linkSync(join(sessions, "h1.jsonl"), join(sessions, "h2.jsonl"));
  symlinkSync("a.jsonl", join(sessions, "link.jsonl"));
});

const shells = [["dash"], ["busybox", "sh"], ["bash", "--posix"]].filter(
  (shell) => spawnSync(shell[0], [...shell.slice(1), "-c", "true"]).status === 0,
);

function gunzipIfNeeded(bytes: Buffer): Buffer {
  return bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
}

function pull(shell: string[], mode: string, extra: string[]) {
  const run = spawnSync(
    shell[0],
    [...shell.slice(1), "-s", "--", mode, state, "main", ...remoteFilterArgs(), ...extra],
    {
      input: PULL,
    },
  );
  assert.equal(run.status, 0, run.stderr.toString());
  return readRemoteStream(Readable.from([run.stdout]), {
    stagingDir: mkdtempSync(join(tmp, "stage-")),
  });
}

describe("pull.sh %quick", () => {
  for (const shell of shells) {
    test(`${shell.join(" ")}: a folder without dot files gets the quick listing too (bash 5.2's globskipdots)`, () => {
      const plain = join(tmp, `plain-${shell[0]}`, "agents", "main", "sessions");
      mkdirSync(plain, { recursive: true });
      writeFileSync(join(plain, "a.jsonl"), "a\n");
      const run = spawnSync(
        shell[0],
        [...shell.slice(1), "-s", "--", "manifest", join(plain, "..", "..", ".."), "main", "%quick", "+*"],
        {
          input: PULL,
        },
      );
      assert.equal(run.status, 0, run.stderr.toString());
      const text = gunzipIfNeeded(run.stdout).toString("latin1");
      assert.match(text, /^Q 2 \d+ \d+ 612e6a736f6e6c$/m, "a stat (Q) record, not the hashing fallback");
    });

    test(`${shell.join(" ")}: the listing has each chosen file's stat, the same files and skipped entries as the hashing one`, async () => {
      const quick = await pull(shell, "manifest", ["%quick"]);
      const hashed = await pull(shell, "manifest", []);
      assert.ok(Number(quick.info.now) >= Math.floor(Date.now() / 1000) - 60, "the bot's clock");
      assert.deepEqual(
        quick.files.map((f) => f.name).sort(),
        hashed.files.map((f) => f.name).sort(),
        "the same files (locks left out, dot-files and odd names in)",
      );
      assert.deepEqual(quick.skipped, hashed.skipped);
      for (const file of quick.files) {
        const info = statSync(join(sessions, file.name));
        assert.equal(file.sha256, "", "nothing hashed");
        assert.equal(file.quick, `${info.size} ${Math.floor(info.mtimeMs / 1000)} ${info.ino}`, file.name);
      }
      const streamed = await pull(shell, "stream", ["%quick"]);
      for (const file of streamed.files) {
        const info = statSync(join(sessions, file.name));
        assert.equal(file.quick, `${info.size} ${Math.floor(info.mtimeMs / 1000)} ${info.ino}`, file.name);
        assert.ok(readFileSync(file.path!).equals(readFileSync(join(sessions, file.name))));
      }
    });
  }
});

describe("pull.sh: names left out exactly (as sync sends a .syncignore'd file: its name, glob characters escaped)", () => {
  const odd = join(tmp, "odd");
  const dir = join(odd, "agents", "main", "sessions");
  const left = [
    "a*b.jsonl",
    "a?b.jsonl",
    "a[b.jsonl",
    "a\\b.jsonl",
    "it's.jsonl",
    "n\nl.jsonl",
    "esac",
    "$x`y`.jsonl",
  ];
  const kept = ["axb.jsonl", "aab.jsonl", "a\\\\b.jsonl", "b c.jsonl", "q$1.jsonl", "nl.jsonl", "esacs"];
  before(() => {
    mkdirSync(dir, { recursive: true });
    for (const name of [...left, ...kept]) writeFileSync(join(dir, name), "{}\n");
  });
  for (const shell of shells) {
    for (const quick of [true, false]) {
      test(`${shell.join(" ")}${quick ? ", %quick" : ""}: only the named files are left out`, async () => {
        const run = spawnSync(
          shell[0],
          [
            ...shell.slice(1),
            "-s",
            "--",
            "manifest",
            odd,
            "main",
            ...left.map((name) => `-${globEscape(name)}`),
            "+*",
            ...(quick ? ["%quick"] : []),
          ],
          { input: PULL },
        );
        assert.equal(run.status, 0, run.stderr.toString());
        const listing = await readRemoteStream(Readable.from([gunzipIfNeeded(run.stdout)]), {});
        assert.deepEqual(listing.files.map((f) => f.name).sort(), [...kept].sort());
      });
    }
  }
});
