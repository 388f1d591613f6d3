import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

// The baseline of the WebSocket figures: a bare `ws` server that sends every frame back as it came, and
// keeps nothing per socket but what `ws` itself does.
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 }, () => {
  console.log(JSON.stringify({ port: (wss.address() as AddressInfo).port }));
});
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});
