// One remote read of the era's program into the staging folder: `manifest` (sizes and hashes), `stream` (whole
// files) or `fetch` (named files, appends from an offset). Every attempt gets a folder of its own; a file that
// changed while it was read (a hash mismatch) is worth one more attempt.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { formatBytes, type Reporter } from "../cli.mts";
import { StreamError, readRemoteStream, type StreamResult } from "../remote/stream.mts";
import type { RemoteProgram, Transport } from "../remote/transport.mts";

export type Fetch = (
  mode: "manifest" | "stream" | "fetch",
  args: string[],
  label: string,
  /** Files fetched from an offset: name → the local file holding their first bytes. */
  prefixes?: Map<string, string>,
) => Promise<StreamResult>;

export function fetcher(
  transport: Transport,
  program: RemoteProgram,
  stagingDir: string,
  options: { timeoutSeconds: number; reporter: Reporter },
): Fetch {
  let attempts = 0;
  return (mode, args, label, prefixes) =>
    transport.call<StreamResult>({
      program,
      args: [mode, ...args],
      label,
      idleTimeoutMs: options.timeoutSeconds * 1000,
      retryOn: (error) => error instanceof StreamError && error.kind === "mismatch",
      consume: async (stdout) => {
        const dir = join(stagingDir, `attempt-${++attempts}`);
        await mkdir(dir);
        return readRemoteStream(stdout, {
          stagingDir: dir,
          prefixes,
          onProgress: (received, file) =>
            options.reporter.progress(`received ${formatBytes(received)}${file ? ` · ${file}` : ""}`),
        });
      },
    });
}
