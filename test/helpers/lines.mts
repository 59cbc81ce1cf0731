// Two well-formed transcript lines (a pi session header and a model change), for tests that build JSONL by hand.
export const HEADER = JSON.stringify({
  type: "session",
  version: 3,
  id: "s1",
  timestamp: "2026-04-07T02:04:55.700Z",
  cwd: "/w",
});
export const LINE = JSON.stringify({
  type: "model_change",
  id: "f9317ee6",
  parentId: null,
  timestamp: "2026-04-07T02:04:55.705Z",
});
