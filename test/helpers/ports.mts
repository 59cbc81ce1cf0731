// Loopback ports for the servers tests start (sshd, an OpenClaw gateway): a free one to give them, and waiting
// until one listens.
import { createConnection, createServer } from "node:net";

/** A port nothing listens on at 127.0.0.1 right now (the OS's pick, released again). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once `port` on 127.0.0.1 takes a connection; rejects after `timeoutMs` naming `what` did not listen. */
export function waitForPort(port: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = createConnection({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline)
          reject(new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs / 1000}s`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}
