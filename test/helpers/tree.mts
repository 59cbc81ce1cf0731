// Snapshots of folders, to assert that a failed run left everything exactly as it was, and the exact-copy check
// of a synced sessions folder against the generated state dir it came from.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { GeneratedStateDir } from "../../scripts/dev/statedir.mts";

/** relative path → sha256 (folders as "dir"), for every entry below `root` (empty when it does not exist). */
export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(root)) return out;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const rel = relative(root, path);
      if (statSync(path).isDirectory()) {
        out[`${rel}/`] = "dir";
        walk(path);
      } else {
        out[rel] = createHash("sha256").update(readFileSync(path)).digest("hex");
      }
    }
  };
  walk(root);
  return out;
}

export function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Asserts that `sessionsDir` holds exactly the main agent's backed-up files, byte-identical to the cloud's except
 * for the unfinished last line, which is held back. */
export function assertExactCopy(state: GeneratedStateDir, sessionsDir: string): void {
  const agent = state.agents[0];
  assert.deepEqual(
    readdirSync(sessionsDir).sort(),
    agent.backedUp,
    "exactly the history files, no locks, temp files or sidecars",
  );
  for (const name of agent.backedUp) {
    const cloud = readFileSync(join(agent.sessionsDir, name));
    const expected =
      agent.partial?.[0] === name ? cloud.subarray(0, cloud.length - agent.partial[1].length) : cloud;
    assert.ok(readFileSync(join(sessionsDir, name)).equals(expected), `${name} is byte-identical`);
  }
}

/**
 * The cloud moves on by a day: the agent's first transcript grows by a line, a new session's transcript appears,
 * and (unless `index: false`) the index gains its key.
 */
export function cloudMovesOn(
  agent: GeneratedStateDir["agents"][number],
  options: { index?: boolean } = {},
): void {
  const live = agent.sessions[0].files.find((name) => name.endsWith(".jsonl"))!;
  appendFileSync(
    join(agent.sessionsDir, live),
    '{"type":"custom","id":"0000aaaa","parentId":null,"timestamp":"2026-11-21T00:00:00Z"}\n',
  );
  writeFileSync(
    join(agent.sessionsDir, "zz-new-session.jsonl"),
    '{"type":"session","version":3,"id":"zz-new-session","timestamp":"2026-11-21T00:00:00Z"}\n',
  );
  if (options.index === false) return;
  const index = JSON.parse(readFileSync(join(agent.sessionsDir, "sessions.json"), "utf8"));
  index["agent:main:zz"] = { sessionId: "zz-new-session", updatedAt: Date.parse("2026-11-21T00:00:00Z") };
  writeFileSync(join(agent.sessionsDir, "sessions.json"), JSON.stringify(index, null, 2));
}
