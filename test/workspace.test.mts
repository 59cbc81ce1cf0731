// scripts/lib/openclaw/workspace.mts: which files are the agent's memory, and where its workspace is on the bot,
// by OpenClaw's own rules (resolveAgentWorkspaceDir of 2026.7.1 and 2026.9.6, read in their sources).
// Run: npx tsx test/run.mts workspace.test
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  isWorkspaceFile,
  parseWorkspaceFacts,
  resolveWorkspace,
} from "../scripts/lib/openclaw/workspace.mts";

describe("the agent's memory files", () => {
  test("the top files, memory/*.md and nothing else", () => {
    for (const path of [
      "MEMORY.md",
      "USER.md",
      "SOUL.md",
      "IDENTITY.md",
      "AGENTS.md",
      "TOOLS.md",
      "memory/2026-11-30.md",
    ])
      assert.ok(isWorkspaceFile(path), path);
    for (const path of [
      "BOOTSTRAP.md",
      "notes.md",
      "memory/a/b.md",
      "memory/x.txt",
      "memory/.hidden.md",
      "USER.md.restore-displaced-0123abcd",
      "../MEMORY.md",
    ])
      assert.ok(!isWorkspaceFile(path), path);
  });
});

describe("where the workspace is", () => {
  const facts = parseWorkspaceFacts(
    "OCSYNC-WORKSPACE 1\nconfig\tok\ndefault-agent\tmain\nhome\t/home/node\nend\t0\n",
  )!;
  const at = (f: typeof facts, agent: string, era: "files" | "sqlite", override?: string) =>
    resolveWorkspace(f, { agent, stateDir: "/data", era, override });

  test("defaults: 2026.7.1 ~/.openclaw/workspace of the gateway's user (off the volume), 2026.9.6 <state>/workspace", () => {
    assert.deepEqual(at(facts, "main", "files"), {
      path: "/home/node/.openclaw/workspace",
      source: "OpenClaw's default, ~/.openclaw/workspace of the gateway's user",
      outsideStateDir: true,
    });
    assert.deepEqual(at(facts, "main", "sqlite"), {
      path: "/data/workspace",
      source: "OpenClaw's default",
      outsideStateDir: false,
    });
    assert.deepEqual(at(facts, "ops", "files"), {
      path: "/data/workspace-ops",
      source: "OpenClaw's default for a second agent",
      outsideStateDir: false,
    });
  });

  test("openclaw.json: the agent's own setting first, then agents.defaults.workspace (a second agent below it); ~ is the user's home", () => {
    const configured = { ...facts, defaultsWorkspace: "~/ws", agentWorkspace: undefined };
    assert.equal((at(configured, "main", "files") as { path: string }).path, "/home/node/ws");
    assert.equal((at(configured, "ops", "files") as { path: string }).path, "/home/node/ws/ops");
    const own = { ...configured, agentWorkspace: "/data/agents-ws/main/" };
    assert.deepEqual(at(own, "main", "sqlite"), {
      path: "/data/agents-ws/main",
      source: "agents.list[main].workspace in openclaw.json",
      outsideStateDir: false,
    });
    assert.equal((at(own, "main", "sqlite", "/srv/ws") as { path: string }).path, "/srv/ws");
  });

  test("a path restore cannot follow is refused with what to pass", () => {
    const relative = { ...facts, defaultsWorkspace: "workspace" };
    assert.match(
      (at(relative, "main", "files") as { error: string }).error,
      /not an absolute path .*; pass --workspace PATH/,
    );
    const homeless = parseWorkspaceFacts("OCSYNC-WORKSPACE 1\nconfig\tmissing\nend\t0\n")!;
    assert.ok("error" in at(homeless, "main", "files"));
    assert.equal(parseWorkspaceFacts("OCSYNC-WORKSPACE 1\nconfig\tok\n"), undefined, "a cut answer");
  });
});
