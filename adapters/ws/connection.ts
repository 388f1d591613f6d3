import type { RawData, WebSocket } from "ws";
import type { ReplyBus } from "../../src/bus";
import { toWire } from "../../src/conversations";
import type { Db } from "../../src/db/database";
import { HubError } from "../../src/errors";
import { recordFeedback } from "../../src/feedback";
import { toHubError } from "../../src/http/body";
import { accept, type HubDeps } from "../../src/hub";
import type { Logger } from "../../src/logger";
import type { TurnEvent, WireMessage } from "../../src/types";
import type { AddressBudget } from "./budget";
import { deltaFrame, errorFrame, messageFrame, operatorTypingFrame, parseFrame, suggestionFrame, typingFrame } from "./frames";
import { CHANNEL, missedMessages, type Session, touch } from "./sessions";
import { allowedAssistant } from "./visitors";

export interface ConnectionDeps {
  hub: HubDeps;
  bus: ReplyBus;
  prisma: Db;
  logger: Logger;
  anonymousTtlMs: number;
  budget: AddressBudget;
}

export interface ConnectionOptions {
  /** Send `delta` frames (the client connected with ?stream=1). */
  stream: boolean;
  /** The assistant messages go to unless a frame names another. */
  assistant: string;
  /** The last message the client saw, to resume after it. */
  lastMessageId: string | null;
  /** The client's address, which anonymous visitors' budget is counted by. */
  address: string;
}

const SHOWN_IDS_KEPT = 2000;

/**
 * One socket in a session. Everything it sends goes through one queue, so the client sees: status, then
 * what it missed, then live events, each message once and a user message before anything about its turn.
 * Frames it receives are handled one at a time, so its messages are accepted in the order it sent them.
 */
export class Connection {
  private session: Session | null = null;
  private outbound: Promise<void> = Promise.resolve();
  private inbound: Promise<unknown>;
  private shown = new Set<string>();
  /** Messages at or below this seq the client has or was not meant to get (see missedMessages). */
  private floorSeq = 0n;
  private off = () => {};
  private idle?: NodeJS.Timeout;
  private closed = false;
  private touchedAt = 0;

  constructor(
    private deps: ConnectionDeps,
    private ws: WebSocket,
    private options: ConnectionOptions,
    admit: () => Promise<Session>,
  ) {
    this.inbound = admit().then(
      (session) => this.join(session),
      (err) => this.refuse(err),
    );
    ws.on("message", (data, isBinary) => {
      this.inbound = this.inbound.then(() => this.session && this.receive(data, isBinary));
    });
    ws.on("close", () => {
      this.closed = true;
      this.off();
      clearTimeout(this.idle);
    });
  }

  get sessionId(): string | null {
    return this.session?.id ?? null;
  }

  /** Sends a frame now, ahead of the queue (shutdown notices). */
  send(frame: object): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(frame));
  }

  private join(session: Session) {
    // A client gone before its session was open leaves nothing to listen for: a listener or an idle timer
    // set now would never be released.
    if (this.closed) return;
    this.session = session;
    // Listening starts before the history is read: an event arriving meanwhile waits in the queue and is
    // skipped if the history already held its message.
    this.off = this.deps.bus.on(session.conversationId, (event) => this.enqueue(() => this.onEvent(event)));
    this.enqueue(() => this.catchUp(session));
    this.active();
  }

  private refuse(err: unknown) {
    const known = toHubError(err);
    if (!known) this.deps.logger.error({ err }, "ws connection could not be opened");
    this.send(known ? errorFrame(known) : { type: "error", code: "unavailable", message: "Try again in a moment" });
    // 4000 + the HTTP status, so a client can tell "sign in again" (4401) from "gone" (4404).
    this.ws.close(known ? 4000 + known.status : 1011, known?.code ?? "unavailable");
  }

  private async catchUp(session: Session) {
    const { visitor } = session;
    this.send({
      type: "status",
      status: "connected",
      session_id: session.id,
      conversation_id: session.conversationId,
      authenticated: visitor.userId !== null,
      ...(visitor.userId ? { user_id: visitor.userId } : {}),
      assistant_id: this.options.assistant,
      resumed: session.resumed,
      stream: this.options.stream,
    });
    const { messages, floorSeq } = await missedMessages(this.deps.prisma, session.conversationId, this.options.lastMessageId);
    this.floorSeq = floorSeq;
    for (const m of messages) this.show(toWire(m), Boolean(m.error));
    // The session's ratings, so a reloaded widget shows which thumbs it pressed.
    const rated = await this.deps.prisma.feedback.findMany({ where: { sessionId: session.id }, orderBy: { updatedAt: "asc" } });
    for (const f of rated) this.send({ type: "feedback", message_id: f.messageId, rating: f.rating, comment: f.comment });
    const last = messages.at(-1);
    if (last?.role === "user" && last.status === "pending") this.send(typingFrame(last.id));
  }

  private async onEvent(event: TurnEvent) {
    if (event.type === "accepted" || event.type === "outbound") {
      this.show(event.message);
      return this.active();
    }
    if (event.type === "operator_typing") return this.send(operatorTypingFrame(event.author));
    if (event.type === "state" || (event.type === "delta" && !this.options.stream)) return;
    await this.showTurn(event.turnId);
    if (event.type === "typing") this.send(typingFrame(event.turnId));
    if (event.type === "delta") this.send(deltaFrame(event.turnId, event.content));
    if (event.type === "reply") {
      const suggestions = event.message.suggestions ?? [];
      if (this.show(event.message, event.failed) && suggestions.length) this.send(suggestionFrame(event.message.id, suggestions));
      this.active();
    }
  }

  /** Shows the user message a turn event is about, when the client has not got it yet. */
  private async showTurn(turnId: string) {
    if (this.shown.has(turnId)) return;
    const turn = await this.deps.prisma.message.findUnique({ where: { id: turnId } });
    if (!turn) return;
    if (turn.seq <= this.floorSeq) this.remember(turn.id);
    else this.show(toWire(turn));
  }

  private show(m: WireMessage, failed = false): boolean {
    if (!this.session || this.shown.has(m.id)) return false;
    this.remember(m.id);
    this.send(messageFrame(m, this.session.id, failed));
    return true;
  }

  private remember(id: string) {
    this.shown.add(id);
    // Ids come back only for recent messages (a retried job, a late event), so the oldest can go.
    if (this.shown.size > SHOWN_IDS_KEPT) this.shown.delete(this.shown.values().next().value as string);
  }

  private async receive(data: RawData, isBinary: boolean) {
    const session = this.session as Session;
    if (isBinary) return this.send({ type: "error", code: "invalid_message", message: "Frames must be JSON text" });
    const parsed = parseFrame(data.toString());
    if ("problem" in parsed) return this.send(parsed.problem);
    const frame = parsed.frame;
    const { visitor } = session;
    try {
      if (frame.session_id && frame.session_id !== session.id) {
        throw new HubError(403, "forbidden", "This socket belongs to another session");
      }
      if (frame.type === "feedback") {
        const { message_id, rating, comment } = frame;
        const stored = await recordFeedback(this.deps.prisma, {
          orgId: visitor.orgId,
          conversationId: session.conversationId,
          sessionId: session.id,
          messageId: message_id,
          rating,
          comment,
        });
        this.send({ type: "feedback", message_id, ...stored });
        return this.active();
      }
      if (frame.assistant_id) await allowedAssistant(this.deps.prisma, visitor, frame.assistant_id);
      if (!visitor.userId) await this.deps.budget.message(this.options.address);
      const accepted = await accept(this.deps.hub, {
        orgId: visitor.orgId,
        channel: CHANNEL,
        conversationKey: session.conversationKey,
        assistant: { ref: frame.assistant_id ?? this.options.assistant },
        externalId: frame.id,
        role: "user",
        content: frame.content,
        userId: visitor.userId ?? undefined,
        fromPublic: !visitor.integrator,
        stream: true,
        sessionId: session.id,
        rateKey: visitor.userId ? `user:${visitor.userId}` : `anonymous:${session.id}`,
      });
      // The bus echoes the message to every socket of the session; this covers a lost publish and a resend.
      this.enqueue(async () => {
        this.show(toWire(accepted.message));
        if (accepted.reply) this.show(toWire(accepted.reply), Boolean(accepted.reply.error));
      });
    } catch (err) {
      const known = toHubError(err);
      if (!known) this.deps.logger.error({ err, session: session.id }, "ws message not accepted");
      this.send(known ? errorFrame(known) : { type: "error", code: "unavailable", message: "Not sent; try again" });
    }
    this.active();
  }

  private enqueue(task: () => Promise<void> | void) {
    this.outbound = this.outbound.then(task).catch((err) => this.deps.logger.error({ err }, "ws frame not sent"));
  }

  /**
   * Anonymous sessions end after a quiet period: here the socket closes; the purge deletes the history.
   * The stored end runs a tenth of the period past the socket's own, so it need not be rewritten on every
   * frame: at most once a tenth of the period, and the purge still never comes before the socket's end.
   */
  private active() {
    const session = this.session;
    if (!session || session.visitor.userId || this.closed) return;
    const slack = this.deps.anonymousTtlMs / 10;
    if (Date.now() - this.touchedAt >= slack) {
      this.touchedAt = Date.now();
      touch(this.deps.prisma, session.id, this.deps.anonymousTtlMs + slack).catch(() => {});
    }
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      this.send({ type: "status", status: "expired", session_id: session.id, conversation_id: session.conversationId });
      this.ws.close(1000, "session expired");
    }, this.deps.anonymousTtlMs);
  }
}
