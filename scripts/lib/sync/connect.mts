// Stage 1, connect: reach the bot's machine with the transport asked for (remote/connect.mts chooses it).
import { connectTransport, type Connection } from "../remote/connect.mts";
import type { SyncOptions } from "./types.mts";

export async function connect(options: SyncOptions): Promise<Connection> {
  const info = (message: string) => options.reporter.info(message);
  // Opened ahead by the command (openEarly), so that its set-up overlapped the start-up.
  const connection = options.connection ?? (await connectTransport(options, info));
  // The connect phase can take 20 s of retries: each one is a line for the user.
  connection.transport.onRetry = info;
  return connection;
}
