import { type CommandSet, json, need } from "../../src/cli-commands";
import { bindNumber, listNumbers, unbindNumber } from "./numbers";

// The Twilio channel's commands of `npm run cli`. The CLI has the database itself: it is the operator, who
// assigns the hub's numbers to orgs (numbers.ts).

export const twilioCommands: CommandSet = {
  usage: `  number bind --number +E164 --assistant ID|NAME [--org ID]
                                        WhatsApp/SMS sent to this Twilio number go to this assistant
  number unbind --number +E164 [--org ID]
  number list [--org ID]`,
  options: { number: { type: "string" } },
  commands: {
    "number bind": async ({ p, o, orgId, out }) =>
      out(json(await bindNumber(p, { orgId, operator: true }, need(o.number, "--number"), need(o.assistant, "--assistant")))),
    "number unbind": async ({ p, o, orgId, out }) => {
      // With --org, only that org's binding; without, whichever org holds the number.
      await unbindNumber(p, { orgId, operator: o.org === undefined }, need(o.number, "--number"));
      out(`unbound ${o.number}`);
    },
    "number list": async ({ p, orgId, out }) => out(json(await listNumbers(p, { orgId, operator: false }))),
  },
};
