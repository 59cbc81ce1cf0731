// --refresh for local-state: OUT/.local-state.json records what a build wrote, so that a rebuild can tell what the
// local gateway changed since and keep it. File era: new and changed session files are carried into the new
// build (a changed copy of a conversation the history also changed is kept beside it); everything else the
// gateway keeps in OUT moves over unchanged. SQLite era: the sessions the build lists are compared with what it
// listed after the import; on any change (or when it cannot tell) the old OUT is kept aside whole.
import { existsSync } from "node:fs";
import { copyFile, readFile, readdir, rename, rm, rmdir, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { classify } from "../openclaw/files.mts";
import { INDEX_FILE, parseIndex } from "../openclaw/sessions-index.mts";
import { listSessions } from "./openclaw-cli.mts";
import { derivedId, sha256, updatedAtOf, type Entry, type Plan } from "./plan.mts";

export const MANIFEST = ".local-state.json";

export interface Manifest {
  format: 1;
  builtAt: string;
  memory: string;
  agent: string;
  era?: "files" | "sqlite";
  /** Files written into the sessions folder: name → sha256 of what was written. */
  files: Record<string, string>;
  /** SQLite era: the sessions the build listed after the import, key → updatedAt. */
  listed?: Record<string, number>;
}

/** What the local gateway changed in OUT since the last build. */
export interface LocalChanges {
  /** Sentences for the report: "new file X", "changed session K", ... */
  kept: string[];
  /** The old OUT is kept beside the new one (SQLite era, changed or not comparable). */
  keepAside: boolean;
  /** The old OUT was a SQLite-era build (its database would clash with a new import: never carried over). */
  oldIsSqlite: boolean;
  /** File era: session files the gateway added or changed. */
  added: string[];
  modified: string[];
  /** File era: the old build's index (for the carried files' entries). */
  oldIndex: Record<string, Entry>;
}

export async function readManifest(out: string): Promise<Manifest | undefined> {
  try {
    const value = JSON.parse(await readFile(join(out, MANIFEST), "utf8")) as Manifest;
    return value?.format === 1 ? value : undefined;
  } catch {
    return undefined;
  }
}

/** What the local gateway changed in a file-era OUT since the last build: new or modified files. */
async function localFileChanges(
  sessionsDir: string,
  manifest: Manifest,
): Promise<{ added: string[]; modified: string[] }> {
  const added: string[] = [];
  const modified: string[] = [];
  let names: string[] = [];
  try {
    names = await readdir(sessionsDir);
  } catch {
    return { added, modified };
  }
  for (const name of names.sort()) {
    const info = classify(name);
    if (info.kind !== "transcript" && info.kind !== "archive") continue;
    const written = manifest.files[name];
    if (written === undefined) added.push(name);
    else if (written !== (await sha256(join(sessionsDir, name)))) modified.push(name);
  }
  return { added, modified };
}

async function carryOver(from: string, to: string, agent: string): Promise<void> {
  for (const name of await readdir(from)) {
    if (name === MANIFEST || name === "openclaw.json") continue;
    if (name !== "agents") {
      await rename(join(from, name), join(to, name));
      continue;
    }
    for (const id of await readdir(join(from, "agents"))) {
      if (id !== agent) {
        await rename(join(from, "agents", id), join(to, "agents", id));
        continue;
      }
      for (const part of await readdir(join(from, "agents", id))) {
        if (part !== "sessions") await rename(join(from, "agents", id, part), join(to, "agents", id, part));
      }
    }
  }
}

/** What the local gateway changed in the previous build at OUT. `cmd` is the OpenClaw command when one was found
 * (a SQLite-era build is asked what it lists). */
export async function findLocalChanges(
  out: string,
  previous: Manifest,
  agent: string,
  cmd: string[] | undefined,
  env: NodeJS.ProcessEnv,
): Promise<LocalChanges> {
  const changes: LocalChanges = {
    kept: [],
    keepAside: false,
    oldIsSqlite:
      previous.era === "sqlite" || existsSync(join(out, "agents", agent, "agent", "openclaw-agent.sqlite")),
    added: [],
    modified: [],
    oldIndex: {},
  };
  const oldSessions = join(out, "agents", agent, "sessions");
  if (changes.oldIsSqlite) {
    // The history lives in the build's database now: compare what it lists with what it listed after the import.
    const listed = cmd ? await listSessions(cmd, out, agent, env) : undefined;
    if (!listed || !previous.listed) {
      changes.keepAside = true;
      changes.kept.push("the local gateway's session database (could not compare it with the last build)");
    } else {
      for (const [key, updatedAt] of Object.entries(listed)) {
        if (previous.listed[key] === undefined) changes.kept.push(`new session ${key}`);
        else if (previous.listed[key] !== updatedAt) changes.kept.push(`changed session ${key}`);
      }
      changes.keepAside = changes.kept.length > 0;
    }
  } else {
    const { added, modified } = await localFileChanges(oldSessions, previous);
    changes.added = added;
    changes.modified = modified;
    changes.kept.push(...added.map((n) => `new file ${n}`), ...modified.map((n) => `changed file ${n}`));
    if (existsSync(join(oldSessions, INDEX_FILE))) {
      changes.oldIndex = parseIndex(await readFile(join(oldSessions, INDEX_FILE), "utf8")) as Record<
        string,
        Entry
      >;
    }
  }
  return changes;
}

/** File era: the local gateway's new files go into the new build as they are (with their index entries); a
 * changed copy stays in place when the history did not change it, else it is kept beside it as
 * `<name>.local-<stamp>.jsonl`. Adds their entries to `plan`. */
export async function carryLocalFiles(options: {
  out: string;
  newSessions: string;
  agent: string;
  previous: Manifest;
  changes: LocalChanges;
  /** What the new build wrote: name → sha256. */
  written: Record<string, string>;
  plan: Plan;
  stamp: string;
}): Promise<void> {
  const { out, newSessions, agent, previous, changes, written, plan, stamp } = options;
  if (changes.keepAside || !(changes.added.length || changes.modified.length)) return;
  const oldSessions = join(out, "agents", agent, "sessions");
  const fileEntries = new Map<string, [string, Entry]>();
  for (const [key, entry] of Object.entries(changes.oldIndex))
    if (typeof entry?.sessionFile === "string") fileEntries.set(entry.sessionFile, [key, entry]);
  for (const name of [...changes.added, ...changes.modified]) {
    const historyUnchanged = written[name] !== undefined && previous.files[name] === written[name];
    let target = name;
    if (written[name] !== undefined && !historyUnchanged) {
      target = `${name.replace(/\.jsonl$/, "")}.local-${stamp}.jsonl`;
    }
    await copyFile(join(oldSessions, name), join(newSessions, target));
    const old = fileEntries.get(name);
    let key: string;
    if (target === name && old) {
      key = old[0];
      plan.index[key] = old[1];
    } else {
      key = `agent:${agent}:local:${target.replace(/\.jsonl$/, "")}`.toLowerCase();
      const updatedAt = await updatedAtOf(join(newSessions, target));
      plan.index[key] = {
        ...(old?.[1] ?? {}),
        sessionId: derivedId(`${agent}/${target}`),
        sessionFile: target,
        updatedAt,
        label: `kept local copy of ${name}`,
      };
    }
    plan.sessions = plan.sessions.filter((session) => session.key !== key);
    plan.sessions.push({
      key,
      sessionId: String(plan.index[key].sessionId),
      file: target,
      origin: "local",
    });
  }
}

/** Puts the finished build in OUT's place. A previous build is removed, or kept beside it (returned) when the
 * local gateway changed its database; a file-era build's other contents move into the new one. */
export async function replaceOut(
  out: string,
  building: string,
  agent: string,
  previous: Manifest | undefined,
  changes: LocalChanges | undefined,
  stamp: string,
): Promise<string | undefined> {
  let previousOut: string | undefined;
  if (previous) {
    if (changes?.keepAside) {
      previousOut = `${out}.before-refresh-${stamp}`;
      await rename(out, previousOut);
    } else {
      // Everything the local gateway keeps outside this agent's sessions folder (its own state database,
      // credentials, workspace, other agents) moves into the new build unchanged.
      // A SQLite-era state dir without local changes is rebuilt from scratch: its database would clash with
      // the new import.
      if (!changes?.oldIsSqlite) await carryOver(out, building, agent);
      const trash = `${out}.old-${process.pid}`;
      await rename(out, trash);
      await rm(trash, { recursive: true, force: true });
    }
  } else if (existsSync(out)) {
    await rmdir(out); // an empty folder (checked by the caller)
  }
  await mkdir(dirname(out), { recursive: true });
  await rename(building, out);
  return previousOut;
}
