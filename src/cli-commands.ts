import { type ParseArgsConfig, parseArgs } from "node:util";
import { setEndUserSecret, signEndUserToken } from "./auth/endusers";
import { createApiKey } from "./auth/keys";
import { createOperator, OPERATOR_ROLES, type OperatorRole } from "./auth/operators";
import { defaultOrgId } from "./bootstrap";
import { importDocuments } from "./cli-import";
import type { Db } from "./db/database";

// The commands of `npm run cli`, on an open database: run by the CLI itself, or by the hub holding the
// embedded database when the CLI sends them there (src/cli-socket.ts). The hub's own are here; a channel adds
// its own (adapters/twilio/commands.ts), and src/cli.ts lists them all.

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig["options"]>;

const HEAD = "Usage: npm run cli -- <command> [options]";
const HUB_USAGE = `  org create <name>                     a new org, with its first API key
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
  operator add --email E --password P --role admin|agent [--org ID]
                                        a person who signs in to the console at /console
  import --folder ID FILE|URL...        add files (PDF, DOCX, HTML, CSV, Markdown, text) and web pages to a
                                        folder; exits non-zero if any failed`;
const TAIL = `  help                                  this text

--org defaults to the default org. Uses DATABASE_URL / DATA_DIR like the hub; on the embedded database
while a hub runs, the command is run by that hub.`;

const HUB_OPTIONS: ParseArgsOptionsConfig = {
  org: { type: "string" },
  name: { type: "string" },
  description: { type: "string" },
  instructions: { type: "string" },
  provider: { type: "string" },
  model: { type: "string" },
  folders: { type: "string" },
  folder: { type: "string" },
  assistant: { type: "string" },
  suggestions: { type: "string" },
  secret: { type: "string" },
  user: { type: "string" },
  ttl: { type: "string" },
  email: { type: "string" },
  password: { type: "string" },
  role: { type: "string" },
  undeployed: { type: "boolean" },
  public: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** The options given, by name: a string option's value, or true for a flag. */
export type Options = Record<string, string | undefined> & { undeployed?: boolean; public?: boolean; help?: boolean };

export interface CommandIo {
  /** Where relative file names (of `import`) are read from: the CLI's working directory. */
  cwd: string;
  out(line: string): void;
}

export interface Call extends CommandIo {
  p: Db;
  o: Options;
  /** The positional arguments after the command's name. */
  args: string[];
  orgId: string;
}

export type Command = (c: Call) => Promise<void>;

/** Commands with their lines of the usage text, and the options they read beyond the hub's. */
export interface CommandSet {
  usage: string;
  options?: ParseArgsOptionsConfig;
  commands: Record<string, Command>;
}

/** A required option or argument; its absence is refused with a pointer to the usage text. */
export const need = (value: string | undefined, what: string) => {
  if (!value) throw new Error(`${what} is required: see npm run cli -- help`);
  return value;
};
export const json = (value: unknown) => JSON.stringify(value, null, 2);

const COMMANDS: Record<string, Command> = {
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
  "operator add": async ({ p, o, orgId, out }) => {
    const role = need(o.role, "--role");
    if (!OPERATOR_ROLES.includes(role as OperatorRole)) throw new Error("--role is admin or agent");
    await p.org.findUniqueOrThrow({ where: { id: orgId } });
    const [email, password] = [need(o.email, "--email"), need(o.password, "--password")];
    const operator = await createOperator(p, { orgId, email, password, role: role as OperatorRole });
    out(json({ id: operator.id, org_id: orgId, email: operator.email, role: operator.role }));
  },
  import: async ({ p, o, args, cwd, out }) => {
    const folder = await p.folder.findUniqueOrThrow({ where: { id: need(o.folder, "--folder") } });
    if (!args.length) throw new Error("no files given: see npm run cli -- help");
    await importDocuments(p, folder.id, args, cwd, out);
  },
};

export const hubCommands: CommandSet = { usage: HUB_USAGE, options: HUB_OPTIONS, commands: COMMANDS };

/** The command line of `npm run cli`: the hub's commands and the channels'. */
export class CommandLine {
  readonly usage: string;
  private readonly options: ParseArgsOptionsConfig;
  private readonly commands: Record<string, Command>;

  constructor(sets: CommandSet[]) {
    this.usage = [HEAD, ...sets.map((set) => set.usage), TAIL].join("\n\n");
    this.options = Object.assign({}, ...sets.map((set) => set.options ?? {}));
    this.commands = Object.assign({}, ...sets.map((set) => set.commands));
  }

  private parse(argv: string[]) {
    const { values, positionals } = parseArgs({ args: argv, options: this.options, allowPositionals: true });
    return { o: values as Options, positionals };
  }

  /** Whether the arguments ask for the usage text rather than a command. */
  wantsHelp(argv: string[]): boolean {
    const { o, positionals } = this.parse(argv);
    return Boolean(o.help) || positionals.length === 0 || positionals[0] === "help";
  }

  /** The command's name and its remaining positional arguments; an unknown command is refused with the usage. */
  commandOf(argv: string[]): { name: string; args: string[] } {
    const { positionals } = this.parse(argv);
    for (const words of [1, 2]) {
      const name = positionals.slice(0, words).join(" ");
      if (Object.hasOwn(this.commands, name)) return { name, args: positionals.slice(words) };
    }
    throw new Error(`unknown command: ${positionals.join(" ")}\n\n${this.usage}`);
  }

  /** Runs one command on a migrated database whose default org exists. */
  async run(p: Db, argv: string[], io: CommandIo): Promise<void> {
    const { name, args } = this.commandOf(argv);
    const { o } = this.parse(argv);
    const orgId = o.org ?? (await defaultOrgId(p));
    await this.commands[name]({ ...io, p, o, args, orgId });
  }
}
