import { parseArgs } from "node:util";
import { setEndUserSecret, signEndUserToken } from "./auth/endusers";
import { createApiKey } from "./auth/keys";
import { defaultOrgId } from "./bootstrap";
import { importDocuments } from "./cli-import";
import type { Db } from "./db/database";
import { bindNumber, listNumbers, unbindNumber } from "./numbers";

// The commands of `npm run cli`, on an open database: run by the CLI itself, or by the hub holding the
// embedded database when the CLI sends them there (src/cli-socket.ts).

export const USAGE = `Usage: npm run cli -- <command> [options]

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
  import --folder ID FILE|URL...        add files (PDF, DOCX, HTML, CSV, Markdown, text) and web pages to a
                                        folder; exits non-zero if any failed
  number bind --number +E164 --assistant ID|NAME [--org ID]
                                        WhatsApp/SMS sent to this Twilio number go to this assistant
  number unbind --number +E164 [--org ID]
  number list [--org ID]

  help                                  this text

--org defaults to the default org. Uses DATABASE_URL / DATA_DIR like the hub; on the embedded database
while a hub runs, the command is run by that hub.`;

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

type Options = ReturnType<typeof parse>["values"];
const parse = (argv: string[]) => parseArgs({ args: argv, options, allowPositionals: true });

/** Whether the arguments ask for the usage text rather than a command. */
export function wantsHelp(argv: string[]): boolean {
  const { values, positionals } = parse(argv);
  return Boolean(values.help) || positionals.length === 0 || positionals[0] === "help";
}

export interface CommandIo {
  /** Where relative file names (of `import`) are read from: the CLI's working directory. */
  cwd: string;
  out(line: string): void;
}

interface Call extends CommandIo {
  p: Db;
  o: Options;
  /** The positional arguments after the command's name. */
  args: string[];
  orgId: string;
}

const need = (value: string | undefined, what: string) => {
  if (!value) throw new Error(`${what} is required\n\n${USAGE}`);
  return value;
};
const json = (value: unknown) => JSON.stringify(value, null, 2);
// The CLI has the database itself: it is the operator, who assigns the hub's numbers to orgs (src/numbers.ts).
const operatorFor = (orgId: string) => ({ orgId, operator: true });

const COMMANDS: Record<string, (c: Call) => Promise<void>> = {
  "org create": async ({ p, o, args, out }) => {
    const org = await p.org.create({ data: { name: need(args[0] ?? o.name, "a name") } });
    const key = await createApiKey(p, org.id, "first key");
    out(json({ org_id: org.id, api_key: key.secret }));
  },
  "org list": async ({ p, out }) => out(json(await p.org.findMany({ select: { id: true, name: true, isDefault: true } }))),
  "key create": async ({ p, o, orgId, out }) => {
    await p.org.findUniqueOrThrow({ where: { id: orgId } });
    const key = await createApiKey(p, orgId, o.name ?? "cli");
    out(json({ org_id: orgId, api_key: key.secret }));
  },
  "secret set": async ({ p, o, orgId, out }) => {
    const secret = await setEndUserSecret(p, orgId, o.secret);
    out(json({ org_id: orgId, end_user_secret: secret }));
  },
  "token mint": async ({ p, o, orgId, out }) => {
    const org = await p.org.findUniqueOrThrow({ where: { id: orgId } });
    if (!org.jwtSecret) throw new Error("the org has no end-user secret yet: run `secret set` first");
    const exp = Math.floor(Date.now() / 1000) + Number(o.ttl ?? 3600);
    out(signEndUserToken(org.jwtSecret, { sub: need(o.user, "--user"), org_id: orgId, exp }));
  },
  "assistant create": async ({ p, o, orgId, out }) => {
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
    out(json(assistant));
  },
  "assistant list": async ({ p, orgId, out }) => out(json(await p.assistant.findMany({ where: { orgId } }))),
  "folder create": async ({ p, o, orgId, out }) => {
    const folder = await p.folder.create({
      data: { orgId, name: need(o.name, "--name"), description: o.description ?? "", public: Boolean(o.public) },
    });
    out(json(folder));
  },
  "folder list": async ({ p, orgId, out }) => out(json(await p.folder.findMany({ where: { orgId } }))),
  "number bind": async ({ p, o, orgId, out }) =>
    out(json(await bindNumber(p, operatorFor(orgId), need(o.number, "--number"), need(o.assistant, "--assistant")))),
  "number unbind": async ({ p, o, orgId, out }) => {
    // With --org, only that org's binding; without, whichever org holds the number.
    await unbindNumber(p, { orgId, operator: o.org === undefined }, need(o.number, "--number"));
    out(`unbound ${o.number}`);
  },
  "number list": async ({ p, orgId, out }) => out(json(await listNumbers(p, { orgId, operator: false }))),
  import: async ({ p, o, args, cwd, out }) => {
    const folder = await p.folder.findUniqueOrThrow({ where: { id: need(o.folder, "--folder") } });
    if (!args.length) throw new Error(`no files given\n\n${USAGE}`);
    await importDocuments(p, folder.id, args, cwd, out);
  },
};

/** The command's name and its remaining positional arguments; an unknown command is refused with the usage. */
export function commandOf(argv: string[]): { name: string; args: string[] } {
  const { positionals } = parse(argv);
  for (const words of [1, 2]) {
    const name = positionals.slice(0, words).join(" ");
    if (Object.hasOwn(COMMANDS, name)) return { name, args: positionals.slice(words) };
  }
  throw new Error(`unknown command: ${positionals.join(" ")}\n\n${USAGE}`);
}

/** Runs one command on a migrated database whose default org exists. */
export async function runCommand(p: Db, argv: string[], io: CommandIo): Promise<void> {
  const { name, args } = commandOf(argv);
  const { values: o } = parse(argv);
  const orgId = o.org ?? (await defaultOrgId(p));
  await COMMANDS[name]({ ...io, p, o, args, orgId });
}
