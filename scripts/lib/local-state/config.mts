// OUT/openclaw.json for local-state: the user's config (--config), else the previous build's (it may hold local
// settings), else an empty one, plus what a gateway browsing a history copy needs: session maintenance in `warn`
// mode (it must not prune or delete the copy), no session.store (it must read the copied index in OUT), and
// gateway.mode `local` when unset. Every setting changed is reported, never silently.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Failure } from "../cli.mts";

/** The config to write into OUT and the sentences saying what was changed. */
export async function localStateConfig(
  userConfig: string | undefined,
  previousOut: string | undefined,
): Promise<{ config: Record<string, unknown>; changes: string[] }> {
  let base: Record<string, unknown> = {};
  let origin = "the new config";
  if (userConfig) {
    base = await readJsonObject(resolve(userConfig), "The config");
    origin = resolve(userConfig);
  } else if (previousOut && existsSync(join(previousOut, "openclaw.json"))) {
    base = await readJsonObject(join(previousOut, "openclaw.json"), "The previous local config");
    origin = join(previousOut, "openclaw.json");
  }
  return localConfig(base, origin);
}

/** OUT/openclaw.json: the base config plus what a local browsing gateway needs; returns what it changed. */
export function localConfig(
  base: Record<string, unknown>,
  origin: string,
): { config: Record<string, unknown>; changes: string[] } {
  const config = structuredClone(base);
  const changes: string[] = [];
  const obj = (parent: Record<string, unknown>, key: string): Record<string, unknown> => {
    const value = parent[key];
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
    parent[key] = {};
    return parent[key] as Record<string, unknown>;
  };
  const session = obj(config, "session");
  const maintenance = obj(session, "maintenance");
  if (maintenance.mode !== "warn") {
    changes.push(
      maintenance.mode === undefined
        ? `set session.maintenance.mode to "warn" (the gateway must not prune or delete the history copy)`
        : `changed session.maintenance.mode from ${JSON.stringify(maintenance.mode)} (in ${origin}) to "warn" (the gateway must not prune or delete the history copy)`,
    );
    maintenance.mode = "warn";
  }
  if (session.store !== undefined) {
    changes.push(
      `removed session.store ${JSON.stringify(session.store)} (in ${origin}): the gateway must read the copied index in OUT`,
    );
    delete session.store;
  }
  const gateway = obj(config, "gateway");
  if (gateway.mode === undefined) {
    changes.push(`set gateway.mode to "local" (unset, a gateway refuses to start)`);
    gateway.mode = "local";
  }
  return { config, changes };
}

async function readJsonObject(path: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new Failure(
      `Cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
    );
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new Failure(
    `${what} ${path} is not a plain JSON object (JSON5 comments and trailing commas are not supported here).`,
  );
}

