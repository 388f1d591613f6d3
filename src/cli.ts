import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { setEndUserSecret, signEndUserToken } from "./auth/endusers";
import { createApiKey } from "./auth/keys";
import { bootstrap } from "./bootstrap";
import { loadConfig } from "./config";
import { openDatabase } from "./db/database";
import { KnowledgeIndex } from "./knowledge/index";
import { bindNumber, listNumbers, unbindNumber } from "./numbers";

const USAGE = `Usage: npm run cli -- <command> [options]

  org create <name>                     a new org, with its first API key
  org list
  key create [--org ID] [--name NAME]   a new API key (shown once)
  secret set [--org ID] [--secret S]    the secret end-user tokens are signed with (random unless given)
  token mint --user ID [--org ID] [--ttl SECONDS]
                                        an end-user token for the widget, signed with the org's secret
  assistant create --name NAME [--org ID] [--instructions TEXT] [--provider knowledge|openai]
                   [--model MODEL] [--folders ID,ID] [--suggestions "A|B"] [--undeployed]
  assistant list [--org ID]
  folder create --name NAME [--org ID] [--description TEXT] [--public]
                                        --public: widget visitors and WhatsApp users may read it
  folder list [--org ID]
  import --folder ID FILE...            add text or Markdown files to a folder
  number bind --number +E164 --assistant ID|NAME [--org ID]
                                        WhatsApp/SMS sent to this Twilio number go to this assistant
  number unbind --number +E164 [--org ID]
  number list [--org ID]

--org defaults to the default org. Uses DATABASE_URL / DATA_DIR like the hub.`;

const options = {
  org: { type: "string" },
  name: { type: "string" },
  description: { type: "string" },
  instructions: { type: "string" },
  provider: { type: "string" },
  model: { type: "string" },
  folders: { type: "string" },
  folder: { type: "string" },
  number: { type: "string" },
  assistant: { type: "string" },
  suggestions: { type: "string" },
  secret: { type: "string" },
  user: { type: "string" },
  ttl: { type: "string" },
  undeployed: { type: "boolean" },
  public: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export async function runCli(argv: string[], out: (line: string) => void = console.log): Promise<void> {
  const { values: o, positionals } = parseArgs({ args: argv, options, allowPositionals: true });
  const [noun, verb, ...rest] = positionals;
  if (o.help || !noun) return out(USAGE);
  const db = openDatabase(loadConfig());
  try {
    await db.migrate();
    const { orgId: defaultOrg } = await bootstrap(db.prisma);
    const orgId = o.org ?? defaultOrg;
    const p = db.prisma;
    // The CLI has the database itself: it is the operator, who assigns the hub's numbers to orgs.
    const operator = { orgId: defaultOrg, operator: true };
    const need = (value: string | undefined, what: string) => {
      if (!value) throw new Error(`${what} is required\n\n${USAGE}`);
      return value;
    };
    switch (noun === "import" ? "import" : `${noun} ${verb ?? ""}`.trim()) {
      case "org create": {
        const org = await p.org.create({ data: { name: need(rest[0] ?? o.name, "a name") } });
        const key = await createApiKey(p, org.id, "first key");
        return out(JSON.stringify({ org_id: org.id, api_key: key.secret }, null, 2));
      }
      case "org list":
        return out(JSON.stringify(await p.org.findMany({ select: { id: true, name: true, isDefault: true } }), null, 2));
      case "key create": {
        await p.org.findUniqueOrThrow({ where: { id: orgId } });
        const key = await createApiKey(p, orgId, o.name ?? "cli");
        return out(JSON.stringify({ org_id: orgId, api_key: key.secret }, null, 2));
      }
      case "secret set": {
        const secret = await setEndUserSecret(p, orgId, o.secret);
        return out(JSON.stringify({ org_id: orgId, end_user_secret: secret }, null, 2));
      }
      case "token mint": {
        const org = await p.org.findUniqueOrThrow({ where: { id: orgId } });
        if (!org.jwtSecret) throw new Error("the org has no end-user secret yet: run `secret set` first");
        const exp = Math.floor(Date.now() / 1000) + Number(o.ttl ?? 3600);
        return out(signEndUserToken(org.jwtSecret, { sub: need(o.user, "--user"), org_id: orgId, exp }));
      }
      case "assistant create": {
        const assistant = await p.assistant.create({
          data: {
            orgId,
            name: need(o.name, "--name"),
            instructions: o.instructions ?? "",
            description: o.description ?? "",
            provider: o.provider ?? null,
            model: o.model ?? null,
            deployed: !o.undeployed,
            folderIds: o.folders ? o.folders.split(",") : [],
            suggestions: o.suggestions ? o.suggestions.split("|") : [],
          },
        });
        return out(JSON.stringify(assistant, null, 2));
      }
      case "assistant list":
        return out(JSON.stringify(await p.assistant.findMany({ where: { orgId } }), null, 2));
      case "folder create": {
        const folder = await p.folder.create({
          data: { orgId, name: need(o.name, "--name"), description: o.description ?? "", public: Boolean(o.public) },
        });
        return out(JSON.stringify(folder, null, 2));
      }
      case "number bind": {
        const bound = await bindNumber(p, operator, need(o.number, "--number"), need(o.assistant, "--assistant"), orgId);
        return out(JSON.stringify(bound, null, 2));
      }
      case "number unbind":
        await unbindNumber(p, operator, need(o.number, "--number"));
        return out(`unbound ${o.number}`);
      case "number list":
        return out(JSON.stringify(await listNumbers(p, { orgId, operator: false }), null, 2));
      case "folder list":
        return out(JSON.stringify(await p.folder.findMany({ where: { orgId } }), null, 2));
      case "import": {
        const folder = await p.folder.findUniqueOrThrow({ where: { id: need(o.folder, "--folder") } });
        const files = [verb, ...rest].filter(Boolean);
        if (!files.length) throw new Error(`no files given\n\n${USAGE}`);
        const index = new KnowledgeIndex(p);
        for (const file of files) {
          const doc = await index.addDocument(folder.id, path.basename(file), readFileSync(file, "utf8"));
          out(`${file}: ${doc.passages} passages (document ${doc.id})`);
        }
        return;
      }
      default:
        throw new Error(`unknown command: ${positionals.join(" ")}\n\n${USAGE}`);
    }
  } finally {
    await db.close();
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
