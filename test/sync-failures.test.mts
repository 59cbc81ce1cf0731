// Every way flyctl or the link can fail during `sync-memory --app`, each against the fake flyctl: one sentence on
// stderr, exit 1, memory/ exactly as it was, no staging folder or lock left, the token never printed.
// (test/sync.test.mts covers the transport's other behaviour and a few of these failures in the quick tier.)
// Run: npx tsx test/run.mts sync-failures
// test tier: full — thirteen failing syncs over the fake flyctl, several with their retries
import { describe, test } from "node:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { snapshot } from "./helpers/tree.mts";
import { tempDir } from "./helpers/tmp.mts";
import {
  assertCleanFailure,
  sync,
  withFakeFly,
  workspaces,
  type FlyWorkspace,
} from "./helpers/sync-case.mts";

const tmp = tempDir("sync-failures");

const workspace = workspaces(tmp);

describe("sync --app (fake flyctl), every failure", () => {
  test("every flyctl failure is one sentence and changes nothing", async (t) => {
    const cases: [string, (w: FlyWorkspace) => void, RegExp, string[]?][] = [
      [
        "no token",
        (w) => delete (w.fly.env as Record<string, string>).FLY_API_TOKEN,
        /flyctl has no valid access token: set FLY_API_TOKEN \(create one with 'fly tokens create ssh -a my-bot'\)/,
      ],
      [
        "old flyctl",
        (w) => (w.fly.config.version = "0.4.79"),
        /flyctl 0\.4\.79 is too old: versions before 0\.4\.80 can end a download early and still report success/,
      ],
      ["unknown app", () => {}, /Fly app "other-bot" was not found/, ["--app", "other-bot"]],
      [
        "stopped machine",
        (w) => (w.fly.config.apps["my-bot"].machines[0].state = "stopped"),
        /the machine holding .* is not started \(148e6d4c2e9d89 \[stopped, ams\]\): start it with 'fly machine start 148e6d4c2e9d89 -a my-bot'/,
      ],
      ["unknown machine", () => {}, /machine 0000 is not one of "my-bot"'s machines/, ["--machine", "0000"]],
      [
        "no volume at the state dir",
        (w) => (w.fly.config.apps["my-bot"].machines[0].config.mounts = [{ path: "/elsewhere" }]),
        /no machine of "my-bot" mounts a volume that holds/,
      ],
      [
        "dropped connection",
        (w) => (w.fly.config.faults = { dropAfterBytes: 600 }),
        /connection to "my-bot" dropped before the transfer finished; nothing was changed/,
      ],
      [
        "tail lost with exit 0 (discovery)",
        (w) => (w.fly.config.faults = { truncateTailBytes: 20 }),
        /the discovery answer from the bot's machine was cut short; run sync again/,
      ],
      [
        "tail lost with exit 0 (transfer)",
        (w) => (w.fly.config.faults = { truncateTailBytes: 40, match: " stream " }),
        /the transfer from Fly app "my-bot" .* is incomplete: the compressed stream from the bot ended early or is damaged; nothing was changed/,
      ],
      [
        "tail lost with exit 0 (uncompressed)",
        (w) => (w.fly.config.faults = { truncateTailBytes: 3, match: " stream " }),
        /is incomplete: .*nothing was changed/,
      ],
      [
        "stdout notice in the discovery",
        (w) => (w.fly.config.faults = { stdoutNotice: "A new version of flyctl is available" }),
        /did not answer the discovery like a POSIX shell should \(something else wrote to stdout\)/,
      ],
      [
        "stdout notice in the data",
        (w) =>
          (w.fly.config.faults = { stdoutNotice: "A new version of flyctl is available", match: " stream " }),
        /is incomplete: the bot's answer does not start like a sync stream \(something else wrote to stdout\)/,
      ],
      [
        "connect keeps failing",
        (w) => (w.fly.config.faults = { connectFailures: 5 }),
        /could not connect to "my-bot" over flyctl ssh \(error connecting to SSH server: .*\).*\(tried 3 times\)/,
      ],
    ];
    for (const [name, arrange, pattern, extra] of cases) {
      await t.test(name, async () => {
        const w = withFakeFly(workspace());
        // An existing history, to show it survives every failure.
        mkdirSync(w.sessions, { recursive: true });
        writeFileSync(join(w.sessions, "kept.jsonl"), '{"type":"session","version":3,"id":"kept"}\n');
        arrange(w);
        w.fly.save();
        const before = snapshot(w.memory);
        const args = ["--state-dir", w.state.root, "--memory", w.memory, ...(extra ?? [])];
        if (!extra?.includes("--app")) args.unshift("--app", "my-bot");
        assertCleanFailure(await sync(args, w.fly.env), pattern, before, w.memory);
      });
    }
  });
});
