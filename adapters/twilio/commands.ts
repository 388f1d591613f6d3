import type { Template } from "../../src/channels";
import { type CommandSet, json, need } from "../../src/cli-commands";
import { bindNumber, listNumbers, unbindNumber } from "./numbers";
import { contentSid } from "./numbers-api";
import { setTranscription, transcriptionRequest } from "./transcription-api";

// The Twilio channel's commands of `npm run cli`. The CLI has the database itself: it is the operator, who
// assigns the hub's numbers to orgs (numbers.ts).

export const twilioCommands: CommandSet = {
  usage: `  number bind --number +E164 --assistant ID|NAME [--org ID] [--template HX…|none]
                                        WhatsApp/SMS sent to this Twilio number go to this assistant;
                                        --template: the approved Content SID sent when a reply would fall
                                        outside WhatsApp's 24-hour window (none: no template)
  number unbind --number +E164 [--org ID]
  number list [--org ID]
  transcription set --base-url URL|none [--model M] [--api-key K] [--org ID]
                                        the org's own transcription service for voice notes (none: the
                                        hub's TRANSCRIBE_* again); the key is stored, never shown`,
  options: { number: { type: "string" }, template: { type: "string" }, "base-url": { type: "string" }, "api-key": { type: "string" } },
  commands: {
    "number bind": async ({ p, o, orgId, out }) =>
      out(
        json(
          await bindNumber(
            p,
            { orgId, operator: true },
            need(o.number, "--number"),
            need(o.assistant, "--assistant"),
            orgId,
            templateOption(o.template),
          ),
        ),
      ),
    "number unbind": async ({ p, o, orgId, out }) => {
      // With --org, only that org's binding; without, whichever org holds the number.
      await unbindNumber(p, { orgId, operator: o.org === undefined }, need(o.number, "--number"));
      out(`unbound ${o.number}`);
    },
    "number list": async ({ p, orgId, out }) => out(json(await listNumbers(p, { orgId, operator: false }))),
    "transcription set": async ({ p, o, orgId, out }) => {
      const given = need(o["base-url"], "--base-url");
      const parsed = transcriptionRequest.shape.base_url.safeParse(given === "none" ? null : given);
      if (!parsed.success) throw new Error(`--base-url: ${parsed.error.issues[0].message}`);
      out(json(await setTranscription(p, orgId, parsed.data, o.model, o["api-key"])));
    },
  },
};

/** --template HX…: that Content SID; none: no template; absent: the number's template unchanged. */
function templateOption(value: string | boolean | undefined): Template | null | undefined {
  if (typeof value !== "string") return undefined;
  if (value === "none") return null;
  const parsed = contentSid.safeParse(value);
  if (!parsed.success) throw new Error(`--template: ${parsed.error.issues[0].message}`);
  return { contentSid: parsed.data };
}
