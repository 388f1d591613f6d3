import { defineConfig } from "prisma/config";

// The hub applies its own migrations (src/db/migrate.ts); this file lets the Prisma CLI find the schema
// and, where its engines can run, agree with what the hub applied (`prisma migrate deploy`, `prisma studio`).
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres" },
});
