import express from "express";

// The baseline of the ask benchmark: the least an Express JSON endpoint can do (parse, answer), nothing stored.
const app = express();
app.post("/echo", express.json(), (req, res) => {
  res.json({ success: true, message: req.body });
});
const server = app.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address && typeof address === "object") console.log(JSON.stringify({ port: address.port }));
});
