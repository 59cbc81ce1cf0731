// Stage 1, connect: check the local arguments, then reach the bot's machine with the transport asked for.
import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Failure } from "../cli.mts";
import { connectTransport, type TransportSource } from "../remote/connect.mts";
import { checkRemoteArg, type Transport } from "../remote/transport.mts";
import { SESSIONS_DIR } from "../store/provenance.mts";
import type { SyncOptions } from "./types.mts";

export interface Connected {
  transport: Transport;
  source: TransportSource;
  /** The memory folder (absolute) and its sessions folder. */
  memoryDir: string;
  sessionsDir: string;
}

export async function connect(options: SyncOptions): Promise<Connected> {
  const memoryDir = resolve(options.memory);
  const memoryStat = await stat(memoryDir).catch(() => undefined);
  if (memoryStat && !memoryStat.isDirectory())
    throw new Failure(`--memory ${options.memory} is not a folder`, 2);
  if (options.agent !== undefined) checkRemoteArg(options.agent, "--agent");
  const { transport, source } = await connectTransport(options, (message) => options.reporter.info(message));
  return { transport, source, memoryDir, sessionsDir: join(memoryDir, SESSIONS_DIR) };
}
