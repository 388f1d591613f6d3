import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runCli } from "../../src/cli";
import { normalizeNumber } from "../../src/numbers";

describe("binding Twilio numbers to assistants from the CLI", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "hub-numbers-"));
  const saved = { ...process.env };
  beforeAll(() => {
    process.env.DATA_DIR = dir;
    delete process.env.DATABASE_URL;
  });
  afterAll(() => {
    process.env = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (...args: string[]) => {
    const lines: string[] = [];
    await runCli(args, (l) => lines.push(l));
    return lines.join("\n");
  };

  it("binds, lists, rebinds and unbinds a number, refusing bad numbers and unknown assistants", async () => {
    await run("assistant", "create", "--name", "sales");
    const bound = JSON.parse(await run("number", "bind", "--number", "whatsapp:+14155238886", "--assistant", "sales"));
    expect(bound).toMatchObject({ number: "+14155238886", assistantName: "sales" });
    await run("number", "bind", "--number", "+14155238886", "--assistant", "default");
    expect(JSON.parse(await run("number", "list"))).toMatchObject([{ number: "+14155238886", assistantName: "default" }]);
    await expect(run("number", "bind", "--number", "12345", "--assistant", "sales")).rejects.toThrow("Invalid number");
    await expect(run("number", "bind", "--number", "+14155550100", "--assistant", "nobody")).rejects.toThrow("Invalid binding");
    expect(await run("number", "unbind", "--number", "+14155238886")).toBe("unbound +14155238886");
    expect(JSON.parse(await run("number", "list"))).toEqual([]);
  });

  it("reads a number as Twilio writes it", () => {
    expect(normalizeNumber("whatsapp:+14155238886")).toBe("+14155238886");
    expect(normalizeNumber("+1 (415) 523-8886")).toBe("+14155238886");
    expect(normalizeNumber("4155238886")).toBeNull();
  });
});
