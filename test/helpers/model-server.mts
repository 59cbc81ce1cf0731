// A tiny OpenAI-compatible chat-completions server on 127.0.0.1 for tests that run the real OpenClaw: it answers
// every request with a fixed reply (plain JSON or server-sent events, as asked) and records what it was sent, so a
// test can check which earlier messages the bot passed to the model.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ModelServer {
  baseUrl: string;
  /** Every request body received on /chat/completions, parsed. */
  requests: { model?: string; messages?: { role: string; content: unknown }[] }[];
  close(): Promise<void>;
}

export async function startModelServer(reply = "Noted."): Promise<ModelServer> {
  const requests: ModelServer["requests"] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.method === "GET" && req.url?.endsWith("/models")) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ object: "list", data: [{ id: "echo", object: "model" }] }));
        return;
      }
      if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
        res.writeHead(404).end();
        return;
      }
      let body: { stream?: boolean; model?: string; messages?: { role: string; content: unknown }[] } = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        res.writeHead(400).end();
        return;
      }
      requests.push(body);
      const id = `chatcmpl-${requests.length}`;
      const created = Math.floor(Date.now() / 1000);
      const usage = { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 };
      if (body.stream) {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
        const base = { id, object: "chat.completion.chunk", created, model: body.model ?? "echo" };
        send({
          ...base,
          choices: [{ index: 0, delta: { role: "assistant", content: reply }, finish_reason: null }],
        });
        send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage });
        res.end("data: [DONE]\n\n");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id,
          object: "chat.completion",
          created,
          model: body.model ?? "echo",
          choices: [{ index: 0, message: { role: "assistant", content: reply }, finish_reason: "stop" }],
          usage,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** openclaw.json settings that make the real OpenClaw use the server as its only model. */
export function modelConfig(baseUrl: string): Record<string, unknown> {
  return {
    agents: { defaults: { model: { primary: "fake/echo" } } },
    models: {
      mode: "merge",
      providers: {
        fake: {
          baseUrl,
          apiKey: "fake-key",
          api: "openai-completions",
          models: [
            {
              id: "echo",
              name: "Echo",
              reasoning: false,
              input: ["text"],
              cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
              contextWindow: 128000,
              maxTokens: 1024,
            },
          ],
        },
      },
    },
  };
}
