// File names the bot's filesystem allows, however odd, and the archive names of every OpenClaw release: the real
// sync-memory script on real files. Nothing is skipped silently, one odd name never stops the backup, bot text
// never reaches the terminal raw, and a write that fails is one sentence with no lock or staging left behind.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { pruneAllButNewestArgs, ROOT, runCommand, runScript, syncLocal } from "./helpers/run.mts";
import { snapshot } from "./helpers/tree.mts";
import { SAMPLES } from "./helpers/secrets-samples.mts";
import { cannotMount, mountFaulty, mountVfat } from "./helpers/mounts.mts";
import { tempDir } from "./helpers/tmp.mts";

const TSX = join(ROOT, "node_modules", "tsx", "dist", "esm", "index.mjs");
const SYNC = join(ROOT, "scripts", "sync-memory.mts");

const tmp = tempDir("names");

function spawnSyncQuiet(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const line = (id: string) => `{"type":"session","version":3,"id":"${id}"}\n`;

describe("odd but legal names on the bot", () => {
  const state = makeStateDir(join(tmp, "odd", "state"));
  const sessions = state.agents[0].sessionsDir;
  const sessionId = state.agents[0].sessions[0].sessionId;
  // 22 CJK characters, percent-encoded as OpenClaw names topics: 255 bytes in all, legal on ext4.
  const topic = encodeURIComponent("議".repeat(22));
  const stem = `${sessionId}-topic-${topic}`;
  const long = `${stem}${"x".repeat(255 - ".jsonl".length - stem.length)}.jsonl`;
  const names: [string, Buffer][] = [
    ["a backslash", Buffer.from(`${sessionId}-topic-a\\b.jsonl`)],
    ["a carriage return", Buffer.from(`${sessionId}-topic-a\rb.jsonl`)],
    ["a newline", Buffer.from(`${sessionId}-topic-a\nb.jsonl`)],
    ["an ESC sequence", Buffer.from(`\x1b]0;pwned\x07\x1b[2J.jsonl`)],
    ["a dot-file", Buffer.from(".hidden-notes")],
    ["a 255-byte topic", Buffer.from(long)],
  ];
  const notUtf8 = Buffer.concat([
    Buffer.from(`${sessionId}-topic-`),
    Buffer.from([0xff, 0xfe]),
    Buffer.from(".jsonl"),
  ]);
  const memory = join(tmp, "odd", "memory");

  test("every name lands byte-exact (a non-UTF-8 one under its stated escaped name), named where unknown", async () => {
    assert.equal(Buffer.byteLength(long), 255);
    for (const [, name] of names)
      writeFileSync(Buffer.concat([Buffer.from(`${sessions}/`), name]), line("x"));
    writeFileSync(Buffer.concat([Buffer.from(`${sessions}/`), notUtf8]), line("y"));
    const result = await syncLocal(state.root, memory, ["--json"]);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    const landed = new Set(readdirSync(join(memory, "sessions")));
    for (const [what, name] of names) {
      const text = name.toString("utf8");
      assert.ok(landed.has(text), `${what}: ${JSON.stringify(text)} did not land`);
      assert.equal(readFileSync(join(memory, "sessions", text), "utf8"), line("x"), what);
    }
    // Not UTF-8: stored as the stated escape (%XX for each byte outside UTF-8), reversible.
    const escaped = `${sessionId}-topic-%FF%FE.jsonl`;
    assert.ok(landed.has(escaped), [...landed].join(", "));
    assert.equal(readFileSync(join(memory, "sessions", escaped), "utf8"), line("y"));
    // Unknown names are backed up and named, in --json and in a warning with its control characters escaped.
    assert.ok(summary.unknownFiles.includes(".hidden-notes"));
    assert.ok(summary.unknownFiles.includes("\x1b]0;pwned\x07\x1b[2J.jsonl"));
    assert.deepEqual(summary.skippedFiles, []);
    assert.doesNotMatch(result.stderr, /\x1b/, "a raw ESC reached the terminal");
    assert.match(
      result.stderr,
      /warning: "\\u001b\]0;pwned\\u0007\\u001b\[2J\.jsonl" is not a file name OpenClaw/,
    );
  });

  test("the text summary names them too, with no raw control characters", async () => {
    const again = await syncLocal(state.root, join(tmp, "odd", "memory-2"), []);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /backed up as unknown kind .*\.hidden-notes/);
    assert.doesNotMatch(again.stdout + again.stderr, /[\x00-\x08\x0b-\x1f\x7f]/);
  });
});

describe("entries of the sessions folder that are not read are named, never skipped silently", () => {
  test("a symlink, a hard link and a folder: in --json skippedFiles and in the text summary", async () => {
    const state = makeStateDir(join(tmp, "links", "state"));
    const sessions = state.agents[0].sessionsDir;
    execFileSync("ln", ["-s", "/etc/hostname", join(sessions, "link.jsonl")]);
    execFileSync("ln", [join(state.root, "openclaw.json"), join(sessions, "hard.jsonl")]);
    mkdirSync(join(sessions, "folder.jsonl"));
    const json = await syncLocal(state.root, join(tmp, "links", "memory"), ["--json"]);
    assert.equal(json.code, 0, json.stderr);
    const summary = JSON.parse(json.stdout) as {
      skipped: Record<string, number>;
      skippedFiles: { name: string; kind: string }[];
    };
    assert.deepEqual(summary.skippedFiles.map((f) => [f.name, f.kind]).sort(), [
      ["folder.jsonl", "not-a-file"],
      ["hard.jsonl", "hard-link"],
      ["link.jsonl", "symlink"],
    ]);
    assert.deepEqual(summary.skipped, { "hard-link": 1, symlink: 1, "not-a-file": 1 });
    const text = await syncLocal(state.root, join(tmp, "links", "memory-2"), []);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /not backed up: .*hard\.jsonl \(a hard link/);
    assert.match(text.stdout, /link\.jsonl \(a symbolic link\)/);
  });
});

describe("discovery counts conversations only", () => {
  test("trajectory and checkpoint sidecars are not counted as transcripts", async () => {
    const state = makeStateDir(join(tmp, "count", "state"));
    const result = await syncLocal(state.root, join(tmp, "count", "memory"), ["--dry-run"]);
    assert.equal(result.code, 0, result.stderr);
    const sessions = state.agents[0].sessionsDir;
    const conversations = readdirSync(sessions).filter(
      (n) =>
        /\.jsonl$|\.jsonl\.(reset|deleted|bak)\./.test(n) &&
        !/\.(trajectory|acp-stream)\.jsonl$|\.checkpoint\./.test(n),
    ).length;
    assert.ok(
      readdirSync(sessions).some((n) => n.endsWith(".trajectory.jsonl")),
      "the fixture has a sidecar",
    );
    assert.match(result.stderr, new RegExp(`storage era files \\(${conversations} conversations,`));
  });
});

describe("the OpenClaw version without a CLI on PATH", () => {
  test("is read from the package npm installed next to the bot's node when the config was hand-written", async () => {
    const dir = join(tmp, "version");
    const state = makeStateDir(join(dir, "state"));
    // A hand-written config: no meta.lastTouchedVersion.
    writeFileSync(join(state.root, "openclaw.json"), `{ gateway: { mode: "local" } }\n`);
    // The bot's node in a global prefix with `npm i -g openclaw` beside it, and no `openclaw` on PATH.
    const prefix = join(dir, "prefix");
    mkdirSync(join(prefix, "bin"), { recursive: true });
    mkdirSync(join(prefix, "lib", "node_modules", "openclaw"), { recursive: true });
    execFileSync("ln", ["-s", process.execPath, join(prefix, "bin", "node")]);
    writeFileSync(
      join(prefix, "lib", "node_modules", "openclaw", "package.json"),
      `{\n  "name": "openclaw",\n  "version": "2026.6.11",\n  "type": "module"\n}\n`,
    );
    const path = [join(prefix, "bin"), ...(process.env.PATH ?? "").split(":")]
      .filter((p) => p && !existsSync(join(p, "openclaw")))
      .join(":");
    const result = await syncLocal(state.root, join(dir, "memory"), ["--dry-run", "--json"], {
      env: { PATH: path },
    });
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as {
      source: { openclawVersion?: string; versionSource?: string };
    };
    assert.equal(summary.source.openclawVersion, "2026.6.11");
    assert.match(summary.source.versionSource ?? "", /install/);
    assert.match(result.stderr, /OpenClaw 2026\.6\.11 \(from /);
  });
});

describe("a write that fails is one sentence; no lock, no staging folder left", () => {
  test("disk full (a 256 KiB tmpfs holds the memory folder)", async (t) => {
    const mount = join(tmp, "full");
    mkdirSync(mount);
    if (!spawnSyncQuiet("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mount])) {
      t.skip("this machine cannot mount a tmpfs (not root?)");
      return;
    }
    t.after(() => spawnSyncQuiet("umount", [mount]));
    const state = makeStateDir(join(tmp, "full-state"));
    writeFileSync(join(state.agents[0].sessionsDir, "big.jsonl"), line("b").repeat(20_000)); // ~900 KiB
    const memory = join(mount, "memory");
    const result = await syncLocal(state.root, memory, []);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /error: cannot write the staging folder: the disk is full; nothing was changed\n$/,
    );
    assert.doesNotMatch(result.stderr, /\n\s+at /, "a stack trace");
    assert.deepEqual(readdirSync(mount), existsSync(memory) ? ["memory"] : []);
    if (existsSync(memory)) assert.deepEqual(readdirSync(memory), []);
  });
});

describe("names the local filesystem cannot hold: stored under a stated escaped name, mapped in the provenance", () => {
  const state = makeStateDir(join(tmp, "map", "state"));
  const sessions = state.agents[0].sessionsDir;
  const sessionId = state.agents[0].sessions[0].sessionId;
  // 255 bytes on the bot, not UTF-8: each bad byte is three bytes as %XX, too long for any local filesystem.
  const longRaw = Buffer.concat([
    Buffer.from(`${sessionId}-topic-`),
    Buffer.alloc(255 - sessionId.length - "-topic-".length - ".jsonl".length, 0xff),
    Buffer.from(".jsonl"),
  ]);
  const upper = `${sessionId.toUpperCase()}.jsonl`;

  test("a 255-byte non-UTF-8 name lands shortened with a hash; two names differing in case both land (real vfat)", async (t) => {
    assert.equal(longRaw.length, 255);
    writeFileSync(Buffer.concat([Buffer.from(`${sessions}/`), longRaw]), line("long"));
    writeFileSync(join(sessions, upper), line("upper"));
    // A real case-insensitive filesystem: vfat, through FUSE (this kernel mounts neither vfat nor casefold ext4
    // itself). Sync finds out by probing its staging folder, as on macOS or Windows.
    const vfat = await mountVfat(join(tmp, "map", "vfat"));
    if (typeof vfat === "string") return cannotMount(t, vfat);
    t.after(() => vfat.unmount());
    const memory = join(vfat.path, "memory");
    const result = await syncLocal(state.root, memory, ["--json"]);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    const provenance = JSON.parse(readFileSync(join(memory, "sync-provenance.json"), "utf8"));
    const landed = readdirSync(join(memory, "sessions"));
    // No two local names differ only in case; OpenClaw's own lower-case transcript keeps its name.
    const folded = landed.map((n) => n.toLowerCase());
    assert.equal(new Set(folded).size, folded.length, landed.join(", "));
    assert.ok(landed.includes(`${sessionId}.jsonl`));
    for (const [raw, body] of [
      [longRaw, line("long")],
      [Buffer.from(upper), line("upper")],
    ] as const) {
      const entry = Object.entries(
        provenance.files as Record<string, { remoteName?: string; remoteNameHex?: string }>,
      ).find(
        ([, r]) =>
          (r.remoteNameHex ?? Buffer.from(r.remoteName ?? "").toString("hex")) === raw.toString("hex"),
      );
      assert.ok(entry, `no provenance mapping for ${raw.toString("hex")}`);
      const [local] = entry;
      assert.ok(Buffer.byteLength(local) <= 255, local);
      assert.match(local, /~[0-9a-f]{10}\.jsonl$/);
      assert.equal(readFileSync(join(memory, "sessions", local), "utf8"), body);
      assert.ok(summary.renamed.some((r: { name: string }) => r.name === local));
    }
    // local-state lists them by their names on the bot; verify knows what they are.
    const out = join(tmp, "map", "local-state");
    const local = await runScript(
      "local-state.mts",
      ["--memory", memory, "--out", out, "--openclaw", join(tmp, "no-openclaw"), "--json"],
      { env: { HOME: join(tmp, "map", "home") } },
    );
    assert.equal(local.code, 0, local.stderr);
    const listed = (JSON.parse(local.stdout) as { sessions: { key: string; source?: string }[] }).sessions;
    for (const renamed of summary.renamed as { name: string; remoteName: string }[]) {
      const entry = listed.find((s) => s.source === renamed.name);
      assert.ok(entry, `local-state does not list ${renamed.name}`);
      assert.ok(entry.key.includes(renamed.remoteName.replace(/\.jsonl$/, "").toLowerCase()), entry.key);
    }
    const verify = await runScript("verify.mts", [memory, "--json"]);
    assert.doesNotMatch(verify.stdout, /unknown-file/);
    // The same run again maps the same names and changes nothing.
    const again = await syncLocal(state.root, memory, ["--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).provenanceWritten, false);
    assert.deepEqual(readdirSync(join(memory, "sessions")).sort(), landed.sort());
    // prune reads each escaped file as what its name on the bot says: the upper-case session is a session of
    // its own (by the local name `<UPPER>~<hash>.jsonl` it would be an unknown file that never leaves).
    const prune = await runScript("prune.mts", [...pruneAllButNewestArgs(memory), "--dry-run", "--json"]);
    assert.equal(prune.code, 0, prune.stderr);
    const plan = JSON.parse(prune.stdout) as {
      prune: { sessionId: string; files: { name: string; remoteName?: string }[] }[];
      keep: { sessionId: string; files: { name: string; remoteName?: string }[] }[];
    };
    const all = [...plan.prune, ...plan.keep];
    const own = all.find((s) => s.sessionId === sessionId.toUpperCase());
    assert.ok(own, `prune has no session ${sessionId.toUpperCase()}: ${prune.stdout}`);
    assert.deepEqual(
      own.files.map((f) => f.remoteName),
      [upper],
    );
    const topic = all.find((s) => s.files.some((f) => f.name.startsWith(`${sessionId}-topic-%FF`)));
    assert.equal(topic?.sessionId, sessionId, "the long topic transcript belongs to its session");
    // The next day on the same FAT folder (no hard links, no chmod): an update and a prune go through the
    // journaled apply, which keeps copies where it would keep hard links.
    const later = `{"type":"custom","customType":"x","timestamp":"2026-01-02T00:00:00.000Z"}\n`;
    appendFileSync(join(sessions, upper), later);
    const day2 = await syncLocal(state.root, memory, ["--json"]);
    assert.equal(day2.code, 0, day2.stderr);
    const escaped = own.files[0].name;
    assert.equal(readFileSync(join(memory, "sessions", escaped), "utf8"), line("upper") + later);
    const pruned = await runScript("prune.mts", pruneAllButNewestArgs(memory));
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.ok(
      !existsSync(join(memory, "sessions", escaped)),
      "the escaped transcript was pruned with its session",
    );
    const after = JSON.parse(readFileSync(join(memory, "sync-provenance.json"), "utf8"));
    assert.equal(after.files[escaped].prunedAt, "2030-01-01T00:00:00.000Z");
    assert.deepEqual(readdirSync(vfat.path).sort(), ["memory"], "no lock or staging folder left");
  });
});

describe("names this filesystem refuses although Linux allows them: found by trying, stored escaped, never a failed run", () => {
  /** Every file of the bot's sessions folder landed: under its own name, or under the provenance's mapping. */
  function assertAllLanded(memory: string, sessions: string, bodies: Map<string, string>) {
    const provenance = JSON.parse(readFileSync(join(memory, "sync-provenance.json"), "utf8")) as {
      files: Record<string, { remoteName?: string; nameReason?: string }>;
    };
    const byRemote = new Map(
      Object.entries(provenance.files).map(([local, r]) => [r.remoteName ?? local, local]),
    );
    for (const [remote, body] of bodies) {
      const local = byRemote.get(remote);
      assert.ok(local, `${JSON.stringify(remote)} has no record`);
      assert.equal(readFileSync(join(memory, "sessions", local), "utf8"), body, remote);
      if (local !== remote) assert.ok(provenance.files[local].nameReason, `${local} says why`);
    }
    assert.ok(readdirSync(sessions).length > bodies.size, "the fixture's other files are there too");
  }

  test("a FAT clone (real vfat): backslash, colon, star, carriage return, ESC", async (t) => {
    const vfat = await mountVfat(join(tmp, "fat", "vfat"));
    if (typeof vfat === "string") return cannotMount(t, vfat);
    t.after(() => vfat.unmount());
    const state = makeStateDir(join(tmp, "fat", "state"));
    const sessions = state.agents[0].sessionsDir;
    const id = state.agents[0].sessions[0].sessionId;
    const bodies = new Map<string, string>();
    for (const odd of ["a\\b", "c:d", "e*f", "g\rh", "\x1b[2J"]) {
      const name = `${id}-topic-${odd}.jsonl`;
      writeFileSync(join(sessions, name), line(odd));
      bodies.set(name, line(odd));
    }
    const memory = join(vfat.path, "memory");
    const result = await syncLocal(state.root, memory, ["--json"]);
    assert.equal(result.code, 0, result.stderr);
    assertAllLanded(memory, sessions, bodies);
    const summary = JSON.parse(result.stdout) as { renamed: { remoteName: string; reason: string }[] };
    assert.deepEqual(summary.renamed.map((r) => r.remoteName).sort(), [...bodies.keys()].sort());
    assert.doesNotMatch(result.stderr, /\x1b/);
    // Stable: the next run keeps every name and writes nothing.
    const again = await syncLocal(state.root, memory, ["--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).provenanceWritten, false);
  });

  test("an eCryptfs-like folder that holds at most 143 bytes a name (FUSE, ENAMETOOLONG beyond)", async (t) => {
    const short = await mountFaulty(join(tmp, "short", "disk"), join(tmp, "short", "mnt"), { nameMax: 143 });
    if (typeof short === "string") return cannotMount(t, short);
    t.after(() => short.unmount());
    const state = makeStateDir(join(tmp, "short", "state"));
    const sessions = state.agents[0].sessionsDir;
    const id = state.agents[0].sessions[0].sessionId;
    const bodies = new Map<string, string>();
    // A topic title of 12 CJK characters, percent-encoded: 157 bytes, legal on ext4, too long here; and its archive.
    const topic = `${id}-topic-${encodeURIComponent("議".repeat(12))}.jsonl`;
    for (const name of [topic, `${topic}.reset.2026-03-01T10-00-00.000Z`]) {
      assert.ok(Buffer.byteLength(name) > 143 && Buffer.byteLength(name) <= 255, name);
      writeFileSync(join(sessions, name), line(name));
      bodies.set(name, line(name));
    }
    const memory = join(short.path, "memory");
    const result = await syncLocal(state.root, memory, ["--json"]);
    assert.equal(result.code, 0, result.stderr);
    assertAllLanded(memory, sessions, bodies);
    for (const local of readdirSync(join(memory, "sessions")))
      assert.ok(Buffer.byteLength(local) <= 143, local);
    // Prune and verify read them as what they are on the bot: a topic transcript and its archive.
    const verify = await runScript("verify.mts", [memory, "--json"]);
    assert.doesNotMatch(verify.stdout, /unknown-file/);
  });
});

describe("forced write errors: one sentence, exit 1, no lock or staging left, memory unchanged", () => {
  // A real I/O error: the memory folder's parent is a FUSE filesystem (test/helpers/faultfs.py) whose writes to
  // the matching files fail with EIO in the kernel, as a failing disk's would. Nothing in sync knows.
  test("an I/O error on a staging write", async (t) => {
    const state = makeStateDir(join(tmp, "eio", "state"));
    const faulty = await mountFaulty(join(tmp, "eio", "disk"), join(tmp, "eio", "mnt"), {
      fail: { glob: ".memory.staging-*/*/*" },
    });
    if (typeof faulty === "string") return cannotMount(t, faulty);
    t.after(() => faulty.unmount());
    const memory = join(faulty.path, "memory");
    const result = await syncLocal(state.root, memory);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /error: cannot write the staging folder: an I\/O error; nothing was changed\n$/,
    );
    assert.doesNotMatch(result.stderr, /\n\s+at /);
    assert.deepEqual(readdirSync(faulty.path), [], "no lock, staging folder or memory folder left");
  });

  test("an I/O error while redacting a 255-byte topic transcript that holds a secret", async (t) => {
    const state = makeStateDir(join(tmp, "redact", "state"));
    const sessionId = state.agents[0].sessions[0].sessionId;
    const stem = `${sessionId}-topic-${encodeURIComponent("議".repeat(22))}`;
    const long = `${stem}${"x".repeat(255 - ".jsonl".length - stem.length)}.jsonl`;
    const secret = `{"type":"message","text":"token ${SAMPLES.GITHUB_TOKEN}"}\n`;
    writeFileSync(join(state.agents[0].sessionsDir, long), line("r") + secret);
    const memory = join(tmp, "redact", "memory");
    // Without a fault the long name redacts and lands (the crash of issue 12: ENAMETOOLONG on `<name>.redacting`).
    const ok = await syncLocal(state.root, memory, ["--json"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(JSON.parse(ok.stdout).redactions.total >= 1);
    assert.ok(!readFileSync(join(memory, "sessions", long), "utf8").includes(SAMPLES.GITHUB_TOKEN));
    // The same into a folder whose `.redacting` temporaries fail with a real EIO (test/helpers/faultfs.py).
    const faulty = await mountFaulty(join(tmp, "redact", "disk"), join(tmp, "redact", "mnt"), {
      fail: { glob: "*.redacting" },
    });
    if (typeof faulty === "string") return cannotMount(t, faulty);
    t.after(() => faulty.unmount());
    const result = await syncLocal(state.root, join(faulty.path, "memory"));
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /error: cannot write the staging folder: an I\/O error while redacting; nothing was changed\n$/,
    );
    assert.doesNotMatch(result.stderr, /\n\s+at /);
    assert.deepEqual(readdirSync(faulty.path), [], "no lock, staging folder or memory folder left");
  });

  test("permission denied (run as nobody: root ignores file modes) when memory/sessions is read-only", async (t) => {
    const dir = join(tmp, "perm");
    mkdirSync(dir, { recursive: true });
    const state = makeStateDir(join(dir, "state"));
    const memory = join(dir, "memory");
    execFileSync("chmod", ["-R", "a+rwX", tmp]);
    const asNobody = (env: Record<string, string> = {}) =>
      runCommand(
        "setpriv",
        [
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          process.execPath,
          "--import",
          TSX,
          SYNC,
          "--local",
          "--state-dir",
          state.root,
          "--memory",
          memory,
        ],
        { env: { HOME: dir, ...env } },
      );
    const first = await asNobody();
    if (first.code !== 0 && /setpriv|Operation not permitted/.test(first.stderr)) {
      t.skip(`cannot run as another user here: ${first.stderr.trim()}`);
      return;
    }
    assert.equal(first.code, 0, first.stderr);
    writeFileSync(
      join(state.agents[0].sessionsDir, "0badf00d-0000-4000-a000-000000000001.jsonl"),
      line("new"),
    );
    execFileSync("chmod", ["555", join(memory, "sessions")]);
    const before = snapshot(memory);
    const result = await asNobody();
    execFileSync("chmod", ["755", join(memory, "sessions")]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /error: writing into .*memory failed \(EACCES: permission denied, rename .*\); it was left as it was before the sync\n$/,
    );
    assert.doesNotMatch(result.stderr, /\n\s+at /);
    assert.deepEqual(snapshot(memory), before);
    assert.deepEqual(readdirSync(dir).sort(), ["memory", "state"], "no lock or staging folder left");
  });
});
