import { normalizeNumber } from "../../../adapters/twilio/numbers";
import { cliOnTemporaryData } from "../../support/cli";

describe("binding Twilio numbers to assistants from the CLI", () => {
  const { run } = cliOnTemporaryData("hub-numbers-");

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

  it("sets and removes the org's own transcription service, never showing its key", async () => {
    const set = JSON.parse(
      await run("transcription", "set", "--base-url", "https://stt.example.com/v1", "--model", "m1", "--api-key", "k-1"),
    );
    expect(set).toEqual({ base_url: "https://stt.example.com/v1", model: "m1", api_key_set: true });
    expect(JSON.parse(await run("transcription", "set", "--base-url", "none"))).toEqual({
      base_url: null,
      model: null,
      api_key_set: false,
    });
    await expect(run("transcription", "set", "--base-url", "not a url")).rejects.toThrow("--base-url");
  });

  it("reads a number as Twilio writes it", () => {
    expect(normalizeNumber("whatsapp:+14155238886")).toBe("+14155238886");
    expect(normalizeNumber("+1 (415) 523-8886")).toBe("+14155238886");
    expect(normalizeNumber("4155238886")).toBeNull();
  });
});
