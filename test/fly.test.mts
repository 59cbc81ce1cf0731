// scripts/lib/remote/fly.mts: which machine holds the state dir (chooseMachine over `fly machine list --json`).
// Run: npx tsx test/run.mts fly.test
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Failure } from "../scripts/lib/cli.mts";
import { chooseMachine, parseMachines, pickMachine, type FlyMachine } from "../scripts/lib/remote/fly.mts";
import { fakeFly, machine } from "./helpers/fly.mts";
import { tempDir } from "./helpers/tmp.mts";

const root = tempDir("fly");

const list = (...machines: ReturnType<typeof machine>[]): FlyMachine[] => parseMachines(machines);

describe("pickMachine", () => {
  test("the one started machine whose volume holds the state dir", () => {
    const machines = list(
      machine("aaa", "/other"),
      machine("bbb", "/data"),
      machine("ccc", "/data", "stopped"),
    );
    assert.equal(pickMachine(machines, "my-bot", "/data/.openclaw").id, "bbb");
    assert.equal(pickMachine(machines, "my-bot", "/data").id, "bbb");
  });
  test("a mount path is a folder, not a prefix (/data does not hold /database)", () => {
    assert.throws(
      () => pickMachine(list(machine("aaa", "/data")), "my-bot", "/database"),
      (error) =>
        error instanceof Failure &&
        /no machine of "my-bot" mounts a volume that holds \/database/.test(error.message),
    );
  });
  test("the machine asked for, by id or name, must be started", () => {
    const machines = list(machine("aaa", "/data"), machine("bbb", "/data", "stopped"));
    assert.equal(pickMachine(machines, "my-bot", "/data", "openclaw-aaa").id, "aaa");
    assert.throws(
      () => pickMachine(machines, "my-bot", "/data", "bbb"),
      /is stopped: start it with 'fly machine start bbb/,
    );
    assert.throws(
      () => pickMachine(machines, "my-bot", "/data", "zzz"),
      /machine zzz is not one of "my-bot"'s machines/,
    );
  });
  test("several started machines with the volume: pick one", () => {
    assert.throws(
      () => pickMachine(list(machine("aaa", "/data"), machine("bbb", "/data")), "my-bot", "/data"),
      /several started machines .*--machine ID/,
    );
  });
  test("none started, or none at all", () => {
    assert.throws(
      () => pickMachine(list(machine("aaa", "/data", "stopped")), "my-bot", "/data"),
      /the machine holding \/data is not started .*fly machine start aaa/,
    );
    assert.throws(() => pickMachine([], "my-bot", "/data"), /Fly app "my-bot" has no machines/);
  });
});

describe("chooseMachine through flyctl", () => {
  test("reads `fly machine list --json` and picks", async () => {
    const fly = fakeFly(join(root, "ok"), "/data");
    const saved = { ...process.env };
    Object.assign(process.env, fly.env);
    try {
      const chosen = await chooseMachine(join(fly.bin, "flyctl"), "my-bot", "/data");
      assert.equal(chosen.id, "148e6d4c2e9d89");
      await assert.rejects(
        chooseMachine(join(fly.bin, "flyctl"), "no-such-app", "/data"),
        (error) => error instanceof Failure && /Fly app "no-such-app" was not found/.test(error.message),
      );
    } finally {
      for (const key of Object.keys(fly.env)) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });
});
