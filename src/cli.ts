import { twilioCommands } from "../adapters/twilio/commands";
import { CommandLine, hubCommands } from "./cli-commands";
import { sendCommand, takesCommands } from "./cli-socket";
import { embeddedDir, loadConfig } from "./config";
import { DirectoryInUse } from "./db/lock";

// The CLI's composition root, with src/main.ts the one file of src/ that imports an adapter: the channels'
// commands are listed here.

/** Every command of `npm run cli`: the hub's, then each channel's. */
export const commandLine = new CommandLine([hubCommands, twilioCommands]);

/**
 * `npm run cli`: on the embedded database, through the hub holding it when one runs (src/cli-socket.ts),
 * else on the database itself; on a Postgres server, always itself.
 */
export async function runCli(argv: string[], out: (line: string) => void = console.log): Promise<void> {
  if (commandLine.wantsHelp(argv)) return out(commandLine.usage);
  commandLine.commandOf(argv); // an unknown command is refused before anything is opened
  const config = loadConfig();
  const dir = embeddedDir(config);
  if (dir && (await sendCommand(dir, argv, out))) return;
  // Loaded only when needed: the database modules are most of this program's start-up time.
  const { bootstrap } = await import("./bootstrap");
  const { openDatabase } = await import("./db/database");
  let db: ReturnType<typeof openDatabase>;
  try {
    db = openDatabase(config);
  } catch (err) {
    if (!(err instanceof DirectoryInUse)) throw err;
    if (dir && !takesCommands(dir))
      throw new Error(
        `${err.message}, which cannot take commands: the path of DATA_DIR is too long for its socket. ` +
          `Stop the hub to run this, or give it a shorter DATA_DIR. If none runs, delete ${err.file}.`,
      );
    throw new Error(
      `${err.message} (a hub starting or stopping, or another npm run cli command), which takes no commands: ` +
        `try again in a moment. If neither runs, delete ${err.file}.`,
    );
  }
  try {
    await db.migrate();
    await bootstrap(db.prisma);
    await commandLine.run(db.prisma, argv, { cwd: process.cwd(), out });
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
