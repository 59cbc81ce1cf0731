// Builds realistic file-era OpenClaw state dirs (the layout openclaw/files.mts classifies): every file-name kind,
// percent-encoded topic ids, forks, archives, a transcript caught mid-append, locks and temp files, sidecars,
// and a second agent, and on request the agent's workspace with its memory files. Deterministic: the same options
// give the same bytes.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export interface StateDirOptions {
  /** Epoch ms of the newest activity; everything else is placed before it. */
  now?: number;
  /** The state dir path as the bot sees it, used in `sessionFile` values. */
  cloudStateDir?: string;
  /** Lines per conversation (message pairs are 2 lines). */
  turns?: number;
  /** Whether the main agent's live transcript ends in an unfinished line (the bot mid-append). */
  partialLastLine?: boolean;
  /** Add a second agent (`ops`) besides `main`. */
  secondAgent?: boolean;
  /** OpenClaw version written in openclaw.json's meta.lastTouchedVersion. */
  version?: string;
  /** Extra text placed in one user message of the main session (e.g. a planted secret). */
  plantedText?: string;
  /** The main agent's workspace files (path inside the workspace → text: `MEMORY.md`, `memory/2026-11-18.md`,
   * any other file too), written into `<root>/workspace`, which openclaw.json names as agents.defaults.workspace. */
  workspace?: Record<string, string>;
}

export interface GeneratedSession {
  key: string;
  sessionId: string;
  /** Files of this session, names relative to the sessions folder. */
  files: string[];
  lastActivity: number;
}

export interface GeneratedAgent {
  id: string;
  sessionsDir: string;
  sessions: GeneratedSession[];
  /** Files that a backup must carry (index, transcripts, archives). */
  backedUp: string[];
  /** Files a backup must never carry (locks, temp files, sidecars, repair copies). */
  transient: string[];
  /** The unfinished last line of the live transcript, if any: [file, bytes]. */
  partial?: [string, string];
}

export interface GeneratedStateDir {
  root: string;
  agents: GeneratedAgent[];
  /** The workspace folder (absolute), when `workspace` was given. */
  workspace?: string;
}

const DAY = 86_400_000;

/** A tiny deterministic PRNG (mulberry32) so fixtures are reproducible. */
export function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uuidFrom(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

function entryId(random: () => number): string {
  return Array.from({ length: 8 }, () => Math.floor(random() * 16).toString(16)).join("");
}

const USER_LINES = [
  "Move DE-16 to the top of the board.",
  "Can you summarise yesterday's standup? Keep it short.",
  "Wie spät ist es in Tokio? 🙂",
  "Draft a reply to Jordan about the invoice — polite but firm.",
  "What did we decide about the staging database?",
  "Remind me to water the plants at 6pm.",
];
const ASSISTANT_LINES = [
  "Done — DE-16 is now first in the sprint column.",
  "Standup: API latency fix shipped; the migration is blocked on review.",
  "In Tokio ist es gerade 23:14 Uhr.",
  'Here is a draft: "Hi Jordan, following up on invoice #2291…"',
  "We agreed to keep staging on Postgres 16 until the upgrade window.",
  "Reminder set for 18:00 today.",
];

/** One conversation as JSONL lines (each ends with "\n"), starting at `start` epoch ms. */
export function conversation(
  random: () => number,
  sessionId: string,
  start: number,
  turns: number,
  options: { header?: boolean; planted?: string } = {},
): { lines: string[]; last: number } {
  const lines: string[] = [];
  let t = start;
  const iso = () => new Date(t).toISOString();
  if (options.header !== false) {
    lines.push(
      JSON.stringify({
        type: "session",
        version: 3,
        id: sessionId,
        timestamp: iso(),
        cwd: "/home/node/.openclaw/workspace",
      }),
    );
  }
  let parent: string | null = entryId(random);
  lines.push(
    JSON.stringify({
      type: "model_change",
      id: parent,
      parentId: null,
      timestamp: iso(),
      provider: "anthropic",
      modelId: "claude-sonnet-4",
    }),
  );
  for (let i = 0; i < turns; i++) {
    t += 1000 + Math.floor(random() * 60_000);
    const userId = entryId(random);
    const text =
      USER_LINES[Math.floor(random() * USER_LINES.length)] +
      (i === 0 && options.planted ? ` ${options.planted}` : "");
    lines.push(
      JSON.stringify({
        type: "message",
        id: userId,
        parentId: parent,
        timestamp: iso(),
        message: { role: "user", content: [{ type: "text", text }], timestamp: t },
      }),
    );
    t += 500 + Math.floor(random() * 5000);
    parent = entryId(random);
    lines.push(
      JSON.stringify({
        type: "message",
        id: parent,
        parentId: userId,
        timestamp: iso(),
        message: {
          role: "assistant",
          content: [{ type: "text", text: ASSISTANT_LINES[Math.floor(random() * ASSISTANT_LINES.length)] }],
          api: "anthropic-messages",
          provider: "anthropic",
          model: "claude-sonnet-4",
          usage: { input: 1200 + i, output: 80 + i, cacheRead: 0, cacheWrite: 0, totalTokens: 1280 + 2 * i },
          stopReason: "stop",
          timestamp: t,
        },
      }),
    );
  }
  return { lines: lines.map((line) => `${line}\n`), last: t };
}

function archiveStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/:/g, "-");
}

function forkStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[:.]/g, "-");
}

export function makeStateDir(root: string, options: StateDirOptions = {}): GeneratedStateDir {
  const now = options.now ?? Date.parse("2026-11-20T09:00:00.000Z");
  const cloud = options.cloudStateDir ?? "/data";
  const turns = options.turns ?? 3;
  const version = options.version ?? "2026.7.1";
  mkdirSync(root, { recursive: true });
  const workspace = options.workspace ? resolve(root, "workspace") : undefined;
  const config = {
    meta: { lastTouchedVersion: version, lastTouchedAt: new Date(now).toISOString() },
    gateway: { mode: "local" },
    ...(workspace ? { agents: { defaults: { workspace } } } : {}),
  };
  writeFileSync(join(root, "openclaw.json"), `${JSON.stringify(config, null, 2)}\n`);
  for (const [path, text] of Object.entries(options.workspace ?? {})) {
    mkdirSync(dirname(join(workspace!, path)), { recursive: true });
    writeFileSync(join(workspace!, path), text);
  }
  const agents = [makeAgent(root, "main", 1, now, cloud, turns, options)];
  if (options.secondAgent !== false)
    agents.push(makeAgent(root, "ops", 2, now, cloud, turns, { ...options, partialLastLine: false }));
  return { root, agents, ...(workspace ? { workspace } : {}) };
}

function makeAgent(
  root: string,
  agentId: string,
  seed: number,
  now: number,
  cloud: string,
  turns: number,
  options: StateDirOptions,
): GeneratedAgent {
  const random = rng(seed);
  const dir = join(root, "agents", agentId, "sessions");
  mkdirSync(dir, { recursive: true });
  mkdirSync(join(root, "agents", agentId, "agent"), { recursive: true });
  const index: Record<string, unknown> = {};
  const sessions: GeneratedSession[] = [];
  const backedUp: string[] = [];
  const transient: string[] = [];
  let partial: [string, string] | undefined;
  const write = (name: string, content: string, keep = true) => {
    writeFileSync(join(dir, name), content);
    (keep ? backedUp : transient).push(name);
  };
  const entry = (sessionId: string, updatedAt: number, extra: Record<string, unknown> = {}) => ({
    sessionId,
    updatedAt,
    systemSent: true,
    abortedLastRun: false,
    chatType: "direct",
    deliveryContext: { to: "heartbeat" },
    sessionFile: `${cloud}/agents/${agentId}/sessions/${sessionId}.jsonl`,
    compactionCount: 0,
    ...extra,
  });

  // The main direct session: a live transcript, plus archives left by /reset and the daily reset.
  const mainId = uuidFrom(random);
  const mainFiles: string[] = [];
  const older = conversation(random, mainId, now - 9 * DAY, turns);
  const resetName = `${mainId}.jsonl.reset.${archiveStamp(now - 8 * DAY)}`;
  write(resetName, older.lines.join(""));
  mainFiles.push(resetName);
  const live = conversation(random, mainId, now - 2 * DAY, turns, {
    planted: agentId === "main" ? options.plantedText : undefined,
  });
  let liveText = live.lines.join("");
  if (options.partialLastLine !== false && agentId === "main") {
    const unfinished =
      '{"type":"message","id":"ffff0001","parentId":null,"timestamp":"' +
      new Date(now).toISOString() +
      '","message":{"role":"assist';
    liveText += unfinished;
    partial = [`${mainId}.jsonl`, unfinished];
  }
  write(`${mainId}.jsonl`, liveText);
  mainFiles.push(`${mainId}.jsonl`);
  // A copy kept before `sessions compact --max-lines` truncated the live file.
  const bakName = `${mainId}.jsonl.bak.${archiveStamp(now - 3 * DAY)}`;
  write(bakName, live.lines.slice(0, 3).join(""));
  mainFiles.push(bakName);
  const mainKey = `agent:${agentId}:main`;
  index[mainKey] = entry(mainId, live.last);
  sessions.push({ key: mainKey, sessionId: mainId, files: mainFiles, lastActivity: live.last });

  // A Telegram group with two topics: a numeric thread id and a string one that needs percent-encoding.
  const groupId = uuidFrom(random);
  const groupFiles: string[] = [];
  const group = conversation(random, groupId, now - 5 * DAY, turns);
  write(`${groupId}.jsonl`, group.lines.join(""));
  groupFiles.push(`${groupId}.jsonl`);
  const groupKey = `agent:${agentId}:telegram:group:-100123456${seed}`;
  index[groupKey] = entry(groupId, group.last, { chatType: "group", channel: "telegram" });
  let groupLast = group.last;
  for (const thread of ["99", "release plans/Q3 ✓"]) {
    const file = `${groupId}-topic-${encodeURIComponent(thread)}.jsonl`;
    const topic = conversation(random, groupId, now - 4 * DAY, turns);
    write(file, topic.lines.join(""));
    groupFiles.push(file);
    index[`${groupKey}:topic:${thread}`] = entry(groupId, topic.last, {
      chatType: "group",
      channel: "telegram",
      sessionFile: `${cloud}/agents/${agentId}/sessions/${file}`,
    });
    groupLast = Math.max(groupLast, topic.last);
  }
  sessions.push({ key: groupKey, sessionId: groupId, files: groupFiles, lastActivity: groupLast });

  // A forked session: `<ISO with : and . as ->_<uuid>.jsonl`, with a header that names its parent.
  const forkId = uuidFrom(random);
  const forkName = `${forkStamp(now - 3 * DAY)}_${forkId}.jsonl`;
  const fork = conversation(random, forkId, now - 3 * DAY, turns);
  write(forkName, fork.lines.join(""));
  const forkKey = `agent:${agentId}:main:thread:${forkId.slice(0, 8)}`;
  index[forkKey] = entry(forkId, fork.last, {
    sessionFile: `${cloud}/agents/${agentId}/sessions/${forkName}`,
  });
  sessions.push({ key: forkKey, sessionId: forkId, files: [forkName], lastActivity: fork.last });

  // A cron session whose transcript was rewritten by `sessions compact --max-lines`: no header line.
  const cronId = uuidFrom(random);
  const cron = conversation(random, cronId, now - 1 * DAY, turns, { header: false });
  write(`${cronId}.jsonl`, cron.lines.join(""));
  index[`cron:daily-digest-${agentId}`] = entry(cronId, cron.last, {
    chatType: undefined,
    deliveryContext: { to: "cron" },
  });
  sessions.push({
    key: `cron:daily-digest-${agentId}`,
    sessionId: cronId,
    files: [`${cronId}.jsonl`],
    lastActivity: cron.last,
  });

  // A session OpenClaw's maintenance pruned: only its `.deleted.` archive is left, no index entry.
  const goneId = uuidFrom(random);
  const gone = conversation(random, goneId, now - 40 * DAY, turns);
  const deletedName = `${goneId}.jsonl.deleted.${archiveStamp(now - 10 * DAY)}`;
  write(deletedName, gone.lines.join(""));
  sessions.push({ key: "", sessionId: goneId, files: [deletedName], lastActivity: gone.last });

  write("sessions.json", `${JSON.stringify(index, null, 2)}`);
  write(
    `sessions.json.bak.${now - 20 * DAY}`,
    `${JSON.stringify({ [mainKey]: entry(mainId, older.last) }, null, 2)}`,
  );

  // Transient and non-conversation files a backup must never carry.
  write("sessions.json.lock", JSON.stringify({ pid: 4242, createdAt: new Date(now).toISOString() }), false);
  write(`${mainId}.jsonl.lock`, JSON.stringify({ pid: 4242, startedAt: new Date(now).toISOString() }), false);
  write(`sessions.json.4242.${uuidFrom(random)}.tmp`, "{}", false);
  write(`${groupId}.jsonl.repair-4242-${now}.tmp`, "", false);
  write(`${mainId}.jsonl.bak-4242-${now - DAY}`, live.lines.slice(0, 2).join("") + "undefined\n", false);
  write(`${mainId}.checkpoint.${uuidFrom(random)}.jsonl`, live.lines.slice(0, 2).join(""), false);
  write(`${mainId}.trajectory.jsonl`, '{"type":"trajectory","step":1}\n', false);
  write(`${mainId}.trajectory-path.json`, '{"path":"x"}', false);
  write(`${mainId}.acp-stream.jsonl`, '{"type":"acp"}\n', false);

  return {
    id: agentId,
    sessionsDir: dir,
    sessions,
    backedUp: backedUp.sort(),
    transient: transient.sort(),
    partial,
  };
}

/**
 * Adds a session last used at `at` (epoch ms) to an agent: a two-line transcript and an index key naming it, as
 * a conversation that went quiet leaves them. For the idle-day tests (prune removes it, sync must not bring it
 * back while the cloud's entry is unchanged).
 */
export function addIdleSession(agent: GeneratedAgent, sessionId: string, key: string, at: number): void {
  const line = (value: unknown) => `${JSON.stringify(value)}\n`;
  writeFileSync(
    join(agent.sessionsDir, `${sessionId}.jsonl`),
    line({ type: "session", version: 3, id: sessionId, timestamp: new Date(at).toISOString(), cwd: "/w" }) +
      line({
        type: "message",
        id: "a1",
        parentId: null,
        timestamp: new Date(at).toISOString(),
        message: { role: "user", content: [{ type: "text", text: "hi" }], timestamp: at },
      }),
  );
  const indexPath = join(agent.sessionsDir, "sessions.json");
  const index = JSON.parse(readFileSync(indexPath, "utf8"));
  index[key] = { sessionId, updatedAt: at, sessionFile: `/data/agents/main/sessions/${sessionId}.jsonl` };
  writeFileSync(indexPath, JSON.stringify(index, null, 2));
  agent.backedUp.push(`${sessionId}.jsonl`);
}
