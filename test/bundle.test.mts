// The bundle (remote/bundle.mts, Transport.prefetch): several remote programs in one connection give each call
// exactly the answer it gets on its own — run by dash and by BusyBox sh, with arguments that need quoting — and
// anything doubtful (a part that failed, an answer cut short or corrupt, one that does not hold up when read) is
// asked again on its own, never used.
// Run: npx tsx test/run.mts bundle
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { makeStateDir } from "../scripts/dev/statedir.mts";
import { remoteFilterArgs } from "../scripts/lib/openclaw/files.mts";
import { bundleScript, callKey, parseBundle, type RemoteCall } from "../scripts/lib/remote/bundle.mts";
import { LocalTransport } from "../scripts/lib/remote/local.mts";
import { programArgv } from "../scripts/lib/remote/transport.mts";
import { readRemoteStream } from "../scripts/lib/remote/stream.mts";
import { workspaceFactsCall } from "../scripts/lib/remote/workspace.mts";
import { discoveryCall } from "../scripts/lib/sync/discover.mts";
import { foreseenCalls } from "../scripts/lib/sync/prefetch.mts";
import { busyboxBin } from "./helpers/fly.mts";
import { ROOT } from "./helpers/run.mts";
import { tempDir } from "./helpers/tmp.mts";

const tmp = tempDir("bundle");
// A state dir whose path needs quoting on a command line: a space, a dollar, a backslash, a quote.
const root = join(tmp, `the bot's $HOME \\ "state"`);
const state = makeStateDir(root, { workspace: { "MEMORY.md": "# what I know\n" } });
const calls: RemoteCall[] = [
  discoveryCall(root),
  { program: "pull.sh", args: ["manifest", root, "main", "%quick", ...remoteFilterArgs()] },
  { program: "pull.sh", args: ["manifest", root, "main", ...remoteFilterArgs()] },
  workspaceFactsCall({ stateDir: root, agentId: "main", candidate: state.workspace }),
];

async function collect(stdout: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdout) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Each call's answer as the transport hands it to the consumer, decompressed; the bot's clock (`I now`) left
 * out. */
async function answers(transport: LocalTransport, list: RemoteCall[]): Promise<string[]> {
  const out: string[] = [];
  for (const call of list) {
    const answer = await transport.call({ ...call, label: "test", idleTimeoutMs: 30_000, consume: collect });
    const text = answer[0] === 0x1f && answer[1] === 0x8b ? gunzipSync(answer) : answer;
    out.push(text.toString("latin1").replace(/^I now \d+\n/m, ""));
  }
  return out;
}

function withPath<T>(path: string | undefined, body: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  if (path) process.env.PATH = path;
  return body().finally(() => (process.env.PATH = saved));
}

describe("a bundle of remote programs", () => {
  for (const shell of ["dash", "BusyBox sh"]) {
    test(`${shell}: every call gets the answer it gets on its own, in one connection`, async () => {
      const path = shell === "dash" ? undefined : busyboxBin(join(tmp, "bb"));
      await withPath(path, async () => {
        const alone = await answers(new LocalTransport(), calls);
        const bundled = new LocalTransport();
        const spawned: string[][] = [];
        const command = (bundled as unknown as { command: (argv: string[]) => unknown }).command.bind(
          bundled,
        );
        (bundled as unknown as { command: (argv: string[]) => unknown }).command = (argv: string[]) => {
          spawned.push(argv);
          return command(argv);
        };
        assert.equal(await bundled.prefetch(calls, { label: "discovery", idleTimeoutMs: 30_000 }), 4);
        assert.deepEqual(await answers(bundled, calls), alone);
        assert.equal(spawned.length, 1, "one connection for the four calls");
        // Each answer is used once: the same call again goes to the bot.
        await answers(bundled, calls.slice(0, 1));
        assert.equal(spawned.length, 2);
        // What the answers say: the discovery found the state dir, the listings name the transcripts, the
        // workspace's facts end and its listing follows.
        assert.match(alone[0], /main/);
        const listing = await readRemoteStream(Readable.from([Buffer.from(alone[2], "latin1")]), {});
        assert.ok(listing.files.some((f) => f.name === state.agents[0].sessions[0].files[0]));
        assert.match(alone[3], /\nend\t0\n/);
      });
    });
  }

  test("a part that fails is not answered; the others are, and the failed one runs on its own with its own error", async () => {
    const failing: RemoteCall = {
      program: "pull.sh",
      args: ["manifest", root, "nobody", ...remoteFilterArgs()],
    };
    const list = [calls[0], failing, calls[3]];
    const transport = new LocalTransport();
    assert.equal(await transport.prefetch(list, { label: "discovery", idleTimeoutMs: 30_000 }), 2);
    await assert.rejects(
      transport.call({ ...failing, label: "listing", idleTimeoutMs: 30_000, consume: collect }),
      /the listing failed on the bot's machine: no sessions folder at .*nobody/,
    );
  });

  test("an answer that does not hold up when read is asked again on its own", async () => {
    const transport = new LocalTransport();
    await transport.prefetch(calls, { label: "discovery", idleTimeoutMs: 30_000 });
    let attempts = 0;
    const text = await transport.call({
      ...calls[2],
      label: "listing",
      idleTimeoutMs: 30_000,
      consume: async (stdout) => {
        const bytes = await collect(stdout);
        if (++attempts === 1) throw new Error("a file changed while it was listed");
        return bytes.toString("latin1");
      },
    });
    assert.equal(attempts, 2);
    assert.match(text, /^OCSYNC 2 manifest\n/);
  });

  test("an answer cut short anywhere, corrupt, or from another bundle is not used; a notice before it is", () => {
    const list = calls.slice(0, 2);
    const { script, nonce } = bundleScript(
      list,
      new Map([
        ["discover.sh", readFileSync(join(ROOT, "scripts", "lib", "remote", "discover.sh"))],
        ["pull.sh", readFileSync(join(ROOT, "scripts", "lib", "remote", "pull.sh"))],
      ]),
      programArgv,
    );
    const ran = spawnSync("sh", ["-s", "--"], { input: script });
    assert.equal(ran.status, 0, ran.stderr.toString());
    const output = ran.stdout;
    const whole = parseBundle(output, nonce, list);
    assert.equal(whole?.size, 2);
    const notice = Buffer.concat([Buffer.from("No machine specified, using 148e in region ams\n"), output]);
    assert.equal(
      parseBundle(notice, nonce, list)?.size,
      2,
      "a transport's notice before the bundle is skipped",
    );
    assert.equal(parseBundle(output, "0".repeat(24), list), undefined, "another bundle's nonce");
    // Cut short anywhere, with bytes after its end, or a marker damaged: not used.
    const head = output.indexOf(0x0a) + 1;
    for (const cut of [0, 10, head, head + 5, Math.floor(output.length / 2), output.length - 1])
      assert.equal(parseBundle(output.subarray(0, cut), nonce, list), undefined, `cut at ${cut}`);
    const extra = Buffer.concat([output, Buffer.from("more")]);
    assert.equal(parseBundle(extra, nonce, list), undefined, "bytes after the end");
    const damaged = Buffer.from(output);
    damaged[output.indexOf(`ocsync-part-end ${nonce} 1`) + 3] ^= 0x20;
    assert.equal(parseBundle(damaged, nonce, list), undefined, "a marker damaged");
    assert.ok(whole?.has(callKey(list[1])));
  });

  test("a part that writes slowly is waited for (the idle timeout measures silence); one that stalls is asked again alone", async () => {
    // A hashing listing of transcripts on a slow disk: 0.4 s per file, 1.5 s of idle timeout, 2 s in all.
    const bin = join(tmp, "slow-bin");
    mkdirSync(bin, { recursive: true });
    const slow = (seconds: number) =>
      writeFileSync(join(bin, "sha256sum"), `#!/bin/sh\nsleep ${seconds}\nexec /usr/bin/sha256sum "$@"\n`, {
        mode: 0o755,
      });
    const listing: RemoteCall = {
      program: "pull.sh",
      args: ["manifest", root, "main", ...remoteFilterArgs()],
    };
    await withPath(`${bin}:${process.env.PATH}`, async () => {
      slow(0.4);
      const transport = new LocalTransport();
      assert.equal(
        await transport.prefetch([calls[0], listing], { label: "discovery", idleTimeoutMs: 1500 }),
        2,
      );
      slow(3);
      // Stalled: nothing answered and no error; each call then runs on its own with its own timeout and retries.
      assert.equal(
        await new LocalTransport().prefetch([calls[0], listing], { label: "discovery", idleTimeoutMs: 1000 }),
        0,
      );
    });
  });

  test("a bot whose gzip cannot decompress gets the programs plain: same answers", async () => {
    const bin = join(tmp, "broken-gzip");
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, "gzip"),
      `#!/bin/sh\ncase "$1" in -d*) echo 'gzip: unknown option -d' >&2; exit 1 ;; esac\nexec ${spawnSync("sh", ["-c", "command -v gzip"]).stdout.toString().trim()} "$@"\n`,
      {
        mode: 0o755,
      },
    );
    const alone = await answers(new LocalTransport(), calls);
    await withPath(`${bin}:${process.env.PATH}`, async () => {
      assert.deepEqual(await answers(new LocalTransport(), calls), alone);
      const bundled = new LocalTransport();
      assert.equal(await bundled.prefetch(calls, { label: "discovery", idleTimeoutMs: 30_000 }), 4);
    });
  });

  test("the day's calls are foreseen from the last sync's record: its agent, era, workspace and .syncignore", async () => {
    const memory = join(tmp, "foreseen");
    mkdirSync(join(memory, "sessions"), { recursive: true });
    const at = "2026-11-30T00:00:00.000Z";
    const record = (era: "files" | "sqlite") => ({
      format: 1,
      lastSync: { at, transport: "fly", stateDir: "/data", agent: "main", era, tool: "t" },
      files: {
        "a.jsonl": {
          size: 3,
          sha256: "ab".repeat(32),
          cloudSize: 3,
          cloudSha256: "ab".repeat(32),
          syncedAt: at,
        },
      },
      workspace: { path: "/data/workspace", files: {} },
    });
    const foresee = (options: Partial<Parameters<typeof foreseenCalls>[1]> = {}) =>
      foreseenCalls(memory, { stateDir: "/data", dryRun: false, workspace: true, ...options }).then((list) =>
        list.map(
          (call) =>
            `${call.program} ${call.args.filter((a) => !a.startsWith("-") && !a.startsWith("+")).join(" ")}`,
        ),
      );
    assert.deepEqual(await foresee(), ["discover.sh /data"], "no record: discovery alone");
    writeFileSync(join(memory, "sync-provenance.json"), JSON.stringify(record("files")));
    assert.deepEqual(await foresee(), [
      "discover.sh /data",
      "pull.sh manifest /data main %quick",
      "workspace.sh facts /data main /data/workspace",
    ]);
    assert.deepEqual(
      await foresee({ agent: "ops" }),
      ["discover.sh /data"],
      "another agent than the last sync's",
    );
    assert.deepEqual(
      (await foresee({ dryRun: true }))[1],
      "pull.sh manifest /data main",
      "a dry run's listing",
    );
    assert.deepEqual(await foresee({ workspace: false }), [
      "discover.sh /data",
      "pull.sh manifest /data main %quick",
    ]);
    writeFileSync(join(memory, "sync-provenance.json"), JSON.stringify(record("sqlite")));
    assert.match((await foresee())[1], /^export-sqlite\.mjs manifest \/data main \S+$/, "the bucket digests");
    writeFileSync(join(memory, ".syncignore"), "agent:main:telegram:*\n");
    assert.deepEqual(
      await foresee(),
      [
        "discover.sh /data",
        "export-sqlite.mjs stream /data main",
        "export-sqlite.mjs manifest /data main",
        "workspace.sh facts /data main /data/workspace",
      ],
      "with a .syncignore: the index and the names, not the listing that depends on them",
    );
  });

  test("a bundle of nothing asks nothing", async () => {
    assert.equal(await new LocalTransport().prefetch([], { label: "discovery", idleTimeoutMs: 30_000 }), 0);
  });
});
