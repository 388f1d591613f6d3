// Where the tests find the real services (the CI machine's defaults).
/** Each message answered alone and at once (the channels' burst windows, src/config.ts, off). */
export const NO_BURSTS = { WHATSAPP_BURST_MS: "0", SMS_BURST_MS: "0", WS_BURST_MS: "0" };

export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
