import { ConfigError, loadConfig } from "../../src/config";

describe("configuration from the environment", () => {
  it("has working defaults for a one-machine start", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      REDIS_URL: "redis://127.0.0.1:6379",
      DATA_DIR: "./.data",
      ROLE: "all",
      ASSISTANT_PROVIDER: "knowledge",
      LOG_LEVEL: "info",
    });
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it("names every bad variable in one message", () => {
    let error: unknown;
    try {
      loadConfig({ PORT: "eighty", ROLE: "boss", REDIS_URL: "not a url", ASSISTANT_PROVIDER: "gpt", BOOTSTRAP_API_KEY: "short" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ["PORT", "ROLE", "REDIS_URL", "ASSISTANT_PROVIDER", "BOOTSTRAP_API_KEY"]) expect(message).toContain(name);
  });

  it("treats an empty variable as unset", () => {
    const config = loadConfig({ PORT: "", DATABASE_URL: "" });
    expect(config.PORT).toBe(3000);
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it("takes trusted proxies as IP addresses and CIDR networks, and names a bad one", () => {
    expect(loadConfig({ TRUSTED_PROXIES: "10.0.0.0/8, 192.0.2.1,fd00::/8" }).TRUSTED_PROXIES).toEqual([
      "10.0.0.0/8",
      "192.0.2.1",
      "fd00::/8",
    ]);
    expect(loadConfig({}).TRUSTED_PROXIES).toEqual([]);
    for (const bad of ["10.0.0.0/33", "proxy.internal", "10.0.0.1/8/8", "fd00::/129"]) {
      expect(() => loadConfig({ TRUSTED_PROXIES: `192.0.2.1,${bad}` })).toThrow(/TRUSTED_PROXIES/);
    }
  });

  it("refuses the openai provider on OpenAI's own API without a key, but not on a server of one's own", () => {
    expect(() => loadConfig({ ASSISTANT_PROVIDER: "openai" })).toThrow(/OPENAI_API_KEY: required with ASSISTANT_PROVIDER=openai/);
    expect(() => loadConfig({ ASSISTANT_PROVIDER: "openai", OPENAI_BASE_URL: "https://api.openai.com/v1/" })).toThrow(ConfigError);
    expect(loadConfig({ ASSISTANT_PROVIDER: "openai", OPENAI_API_KEY: "sk-test" }).OPENAI_API_KEY).toBe("sk-test");
    expect(loadConfig({ ASSISTANT_PROVIDER: "openai", OPENAI_BASE_URL: "http://127.0.0.1:11434/v1" }).OPENAI_API_KEY).toBeUndefined();
    expect(loadConfig({ OPENAI_BASE_URL: "https://api.openai.com/v1" }).ASSISTANT_PROVIDER).toBe("knowledge");
  });
});
