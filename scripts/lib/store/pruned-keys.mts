// Index keys that prune removed stay removed: sync compares each staged sessions.json entry with the hash
// prune recorded (provenance `prunedKeys`) and leaves out the keys whose entry is unchanged, so that an idle
// bot's next sync reproduces the pruned index byte for byte and an idle day has nothing to commit. A key whose
// entry changed in the cloud (the session was used again) comes back and is forgotten here.
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { serializeIndex, type SessionIndex } from "../openclaw/sessions-index.mts";
import { entryHash, type PrunedKey } from "./provenance.mts";

export interface KeptOut {
  /** Keys left out because their entry is unchanged since prune removed them. */
  left: string[];
  /** Pruned keys whose entry changed: they are back in the index. */
  revived: string[];
  /** The staged file's new size and hash, when it was rewritten. */
  size?: number;
  sha256?: string;
}

/** Rewrites the staged index at `path` without the pruned keys whose entries are unchanged. */
export async function leaveOutPrunedKeys(
  path: string,
  prunedKeys: Record<string, PrunedKey> | undefined,
): Promise<KeptOut> {
  const out: KeptOut = { left: [], revived: [] };
  if (!prunedKeys || !Object.keys(prunedKeys).length) return out;
  const text = await readFile(path, "utf8");
  let store: SessionIndex;
  try {
    store = JSON.parse(text) as SessionIndex;
  } catch {
    return out; // not JSON: the checks that follow say so
  }
  if (!store || typeof store !== "object" || Array.isArray(store)) return out;
  const kept: SessionIndex = {};
  for (const [key, value] of Object.entries(store)) {
    const pruned = prunedKeys[key];
    if (pruned && pruned.entrySha256 === entryHash(value)) out.left.push(key);
    else {
      if (pruned) out.revived.push(key);
      kept[key] = value;
    }
  }
  if (!out.left.length) return out;
  // Written the way prune writes it, so that an unchanged cloud gives the same bytes as the pruned index.
  const next = `${serializeIndex(kept)}${text.endsWith("\n") ? "\n" : ""}`;
  await writeFile(path, next);
  out.size = Buffer.byteLength(next);
  out.sha256 = createHash("sha256").update(next).digest("hex");
  return out;
}
