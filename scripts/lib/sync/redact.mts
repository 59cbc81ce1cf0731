// Secrets never reach memory/: each detected value in a staged file becomes [REDACTED:<kind>], lines stay valid JSON.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { readFile, rename, rm } from "node:fs/promises";
import { basename } from "node:path";
import { Failure, writeFailure } from "../cli.mts";
import { createRedactState, redactJsonlChunk, type SecretScanner } from "../secrets.mts";

/**
 * Redacts secrets in a staged file in place (streaming); returns how many, and the new size and hash. An index
 * (pretty-printed JSON) is redacted line by line too and must still parse afterwards.
 */
export async function redactFile(
  path: string,
  scanner: SecretScanner,
  isJsonDocument: boolean,
): Promise<{ total: number; kinds: Record<string, number>; size: number; sha256: string }> {
  const state = createRedactState(scanner);
  const temp = `${path}.redacting`;
  const out = createWriteStream(temp, { mode: 0o600 });
  // A write error (disk full, I/O) is kept and becomes one sentence; never an unhandled 'error' event.
  let failed: unknown;
  const finished = new Promise<void>((resolve) => {
    out.once("finish", resolve);
    out.once("close", resolve);
  });
  out.on("error", (error) => (failed ??= error));
  // Tests force an I/O error here (OCSYNC_TEST_FAULT=redact-write:EIO).
  const fault = /^redact-write:(E[A-Z]+)$/.exec(process.env.OCSYNC_TEST_FAULT ?? "");
  if (fault) out.destroy(Object.assign(new Error(`${fault[1]} (injected by the test)`), { code: fault[1] }));
  const check = () => {
    if (failed !== undefined) {
      throw new Failure(`${writeFailure(failed, "the staging folder")} while redacting; nothing was changed`);
    }
  };
  const hash = createHash("sha256");
  let size = 0;
  const emit = async (bytes: Buffer) => {
    if (!bytes.length) return;
    hash.update(bytes);
    size += bytes.length;
    check();
    if (!out.write(bytes))
      await new Promise<void>((resolve) => {
        out.once("drain", resolve);
        out.once("close", resolve);
      });
  };
  try {
    for await (const chunk of createReadStream(path)) await emit(redactJsonlChunk(state, chunk as Buffer));
    await emit(redactJsonlChunk(state, null));
    out.end();
    await finished;
    check();
  } catch (error) {
    out.destroy();
    await rm(temp, { force: true });
    throw error;
  }
  if (state.redactions === 0) {
    await rm(temp, { force: true });
    return { total: 0, kinds: {}, size, sha256: "" };
  }
  if (isJsonDocument) {
    try {
      JSON.parse(await readFile(temp, "utf8"));
    } catch {
      await rm(temp, { force: true });
      throw new Failure(
        `redacting secrets in ${basename(path)} would leave invalid JSON; nothing was changed (run with --no-redact and clean it by hand)`,
      );
    }
  }
  await rename(temp, path);
  return { total: state.redactions, kinds: state.kinds, size, sha256: hash.digest("hex") };
}
