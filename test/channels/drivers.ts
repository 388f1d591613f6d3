import { randomUUID } from "node:crypto";
import { connect, type Frame, type TestSocket } from "../adapters/ws/client";
import type { FakeTwilio } from "../fakes/twilio-server";
import type { TestHub } from "../support/hub";
import type { TestOrg } from "../support/orgs";
import { waitFor } from "../support/processes";
import { parseSse } from "../support/sse";
import { postWebhook, whatsapp } from "../support/twilio";

// How the conformance suite drives each channel the way its users do: an integrator's REST calls, a widget's
// socket, Twilio's signed webhooks. Each driver opens a conversation for a new end user of an org and says,
// in its channel's terms, what came back.

/** One end user's conversation on a channel. */
export interface ChannelConversation {
  /**
   * Sends a user message under the channel's own message id (a retry sends the same id), and resolves with
   * whether the channel refused it for going too fast.
   */
  send(id: string, text: string): Promise<{ rateLimited: boolean }>;
  /** Waits until this channel has brought the user the reply `content`, and returns it. */
  received(content: string): Promise<string>;
  /**
   * Waits until this channel has brought the user a business-side message that answers no turn (an
   * operator's), and returns it with the name of the operator who wrote it where the channel shows one.
   */
  receivedOutbound(content: string): Promise<{ content: string; author?: string }>;
  /** The stored conversation's id. */
  conversationId(): Promise<string>;
  /** Whether another org's key can read this conversation through the channel (it must not). */
  readableBy(other: TestOrg): Promise<boolean>;
  close(): Promise<void>;
}

export interface ChannelDriver {
  name: string;
  open(org: TestOrg): Promise<ChannelConversation>;
}

export interface Setup {
  hub: TestHub;
  twilio: FakeTwilio;
}

const json = (res: Response) => res.json() as Promise<any>;
const post = (s: Setup, key: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(s.hub.url + path, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
const get = (s: Setup, key: string, path: string) => fetch(s.hub.url + path, { headers: { authorization: `Bearer ${key}` } });

/** The ask API: the reply is the response to the call (JSON). */
export function askDriver(s: Setup): ChannelDriver {
  return {
    name: "ask API",
    async open(org) {
      const id = `conv_${randomUUID()}`;
      const answers: string[] = [];
      return {
        async send(messageId, text) {
          const res = await post(s, org.key, "/api/ai-hub/assistant/ask", {
            id,
            assistantId: "default",
            message: { id: messageId, role: "user", content: text },
          });
          const body = await json(res);
          if (res.status === 200) answers.push(body.message.content);
          return { rateLimited: res.status === 429 };
        },
        received: (content) => waitFor(() => answers.find((a) => a === content)),
        // An ask call's response is its reply only: a message that answers no turn is read, as any of the
        // conversation's, from the hub's history of it (the General Bots API), by the same `id`.
        receivedOutbound: (content) => fromGeneralBotsHistory(s, org.key, id, content),
        conversationId: async () => (await byKey(s, org.orgId, id)).id,
        // The ask API has no reads: another org naming the same `id` gets a conversation of its own.
        async readableBy(other) {
          await post(s, other.key, "/api/ai-hub/assistant/ask", { id, assistantId: "default", message: { role: "user", content: "hi" } });
          return (await byKey(s, other.orgId, id)).id === (await byKey(s, org.orgId, id)).id;
        },
        close: async () => {},
      };
    },
  };
}

/** The General Bots API: messages are posted (Idempotency-Key), the reply is read from the history. */
export function generalBotsDriver(s: Setup): ChannelDriver {
  return {
    name: "General Bots API",
    async open(org) {
      const start = await json(await post(s, org.key, "/api/conversations/start", { bot_id: "default" }));
      const id: string = start.conversation_id;
      const history = async (key: string) => get(s, key, `/api/conversations/${id}/history`);
      return {
        async send(messageId, text) {
          const res = await post(s, org.key, `/api/conversations/${id}/messages`, { content: text }, { "idempotency-key": messageId });
          return { rateLimited: res.status === 429 };
        },
        received: async (content) => (await fromGeneralBotsHistory(s, org.key, id, content)).content,
        receivedOutbound: (content) => fromGeneralBotsHistory(s, org.key, id, content),
        conversationId: async () => id,
        // Another org's key gets the document's 403 (no access to conversation); any other answer (a 400 from a
        // broken request included) counts as reaching it, so that a check that proves nothing fails.
        readableBy: async (other) => (await history(other.key)).status !== 403,
        close: async () => {},
      };
    },
  };
}

/** The Conversation Service: a chat session's stream_chat (Idempotency-Key) streams the reply as SSE. */
export function conversationServiceDriver(s: Setup): ChannelDriver {
  return {
    name: "Conversation Service",
    async open(org) {
      const q = (path: string) => `/api/conversation/${path}?org_id=${org.orgId}`;
      const conversation = await json(await post(s, org.key, q("create"), { title: "conformance" }));
      const session = await json(await post(s, org.key, q("create_session"), { conversation_id: conversation.id, model_id: "default" }));
      const answers: string[] = [];
      return {
        async send(messageId, text) {
          const res = await post(
            s,
            org.key,
            q("stream_chat"),
            { chat_session_id: session.id, message: text },
            { "idempotency-key": messageId },
          );
          const body = await res.text();
          if (res.ok) for (const e of parseSse(body)) if (e.event === "end") answers.push(e.data.content);
          return { rateLimited: res.status === 429 };
        },
        received: (content) => waitFor(() => answers.find((a) => a === content)),
        // Not part of a stream: listed with the conversation's messages.
        receivedOutbound: async (content) => {
          const message = await waitFor(async () => {
            const rows = await json(await get(s, org.key, `${q("messages")}&conversation_id=${conversation.id}`));
            return rows.find((m: any) => m.role === "assistant" && m.content === content);
          });
          return { content: message.content, author: message.author?.name };
        },
        conversationId: async () => conversation.id,
        // 404, as for a conversation that does not exist; any other answer counts as reaching it.
        readableBy: async (other) =>
          (await get(s, other.key, `/api/conversation/messages?org_id=${other.orgId}&conversation_id=${conversation.id}`)).status !== 404,
        close: async () => {},
      };
    },
  };
}

/** The widget's socket, as an integrator's server opens it for a user (API key and user_id). */
export function webSocketDriver(s: Setup): ChannelDriver {
  return {
    name: "WebSocket",
    async open(org) {
      const userId = `user-${randomUUID()}`;
      const socket: TestSocket = await connect(s.hub.url, { user_id: userId }, { headers: { authorization: `Bearer ${org.key}` } });
      const status = await socket.next((f) => f.type === "status");
      const botSaid = (content: string) => (f: Frame) => f.type === "message" && f.sender === "bot" && f.content === content;
      return {
        async send(messageId, text) {
          const before = socket.frames.length;
          socket.send({ type: "message", id: messageId, content: text, session_id: status.session_id });
          // Refused: an error frame. Accepted: stored under its id (a resend of it shows nothing new on the socket).
          const stored = () =>
            s.hub.runtime.db.prisma.message.findFirst({ where: { conversationId: status.conversation_id, externalId: messageId } });
          const error = await waitFor(
            async () => socket.frames.slice(before).find((f) => f.type === "error") ?? ((await stored()) && "stored"),
          );
          return { rateLimited: error !== "stored" && error.code === "rate_limited" };
        },
        received: async (content) => (await waitFor(() => socket.frames.find(botSaid(content)))).content,
        receivedOutbound: async (content) => {
          const frame = await waitFor(() => socket.frames.find(botSaid(content)));
          return { content: frame.content, author: frame.author?.name };
        },
        conversationId: async () => status.conversation_id,
        async readableBy(other) {
          const theirs = await connect(
            s.hub.url,
            { user_id: userId, session_id: status.session_id },
            { headers: { authorization: `Bearer ${other.key}` } },
          );
          const first = await theirs.next((f) => f.type === "status" || f.type === "error");
          await theirs.close();
          return first.type === "status" && first.conversation_id === status.conversation_id;
        },
        close: () => socket.close(),
      };
    },
  };
}

let numbers = 0;

/** WhatsApp through Twilio: signed webhooks in, the reply sent to the user through the (fake) Twilio API. */
export function twilioDriver(s: Setup): ChannelDriver {
  return {
    name: "Twilio webhook",
    async open(org) {
      // A number of the hub's, assigned to the org by the operator: its messages are the org's.
      numbers++;
      const hubNumber = `+1415555${String(1000 + numbers)}`;
      await fetch(`${s.hub.url}/api/twilio/numbers/${encodeURIComponent(hubNumber)}`, {
        method: "PUT",
        headers: { authorization: `Bearer ${s.hub.key}`, "content-type": "application/json" },
        body: JSON.stringify({ assistant: "default", org_id: org.orgId }),
      });
      const user = `+1777${String(numbers).padStart(7, "0")}`;
      const sentToUser = async (content: string) =>
        (await waitFor(() => s.twilio.sends.find((m) => m.to === `whatsapp:${user}` && m.body === content))).body;
      return {
        async send(messageId, text) {
          const params = whatsapp(user, hubNumber, text, { MessageSid: messageId });
          const res = await postWebhook(s.hub.url, s.twilio.authToken, "/webhooks/twilio", params);
          return { rateLimited: res.body.includes("too quickly") };
        },
        received: (content) => sentToUser(content),
        // WhatsApp shows the business's number, not who wrote.
        receivedOutbound: async (content) => ({ content: await sentToUser(content) }),
        conversationId: async () => (await byKey(s, org.orgId, `whatsapp_${user}`)).id,
        // Who reads it is decided by the number's binding: another org's number is another conversation.
        readableBy: async (other) => Boolean(await byKeyOrNull(s, other.orgId, `whatsapp_${user}`)),
        close: async () => {},
      };
    },
  };
}

/** A bot message of a conversation's General Bots history, with the operator who wrote it if one did. */
async function fromGeneralBotsHistory(s: Setup, key: string, id: string, content: string) {
  const message = await waitFor(async () => {
    const { messages } = await json(await get(s, key, `/api/conversations/${encodeURIComponent(id)}/history`));
    return messages.find((m: any) => m.sender === "bot" && m.content === content);
  });
  return { content: message.content as string, author: message.author?.name as string | undefined };
}

/** A Twilio message SID, the id Twilio retries a webhook with. */
export const twilioSid = () => `SM${randomUUID().replace(/-/g, "")}`;

const byKeyOrNull = (s: Setup, orgId: string, externalId: string) =>
  s.hub.runtime.db.prisma.conversation.findUnique({ where: { orgId_externalId: { orgId, externalId } } });
const byKey = (s: Setup, orgId: string, externalId: string) =>
  waitFor(() => byKeyOrNull(s, orgId, externalId)) as Promise<NonNullable<Awaited<ReturnType<typeof byKeyOrNull>>>>;
