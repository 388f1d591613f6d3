import { ProviderError } from "../src/assistants/provider";
import { endRetrying, RETRYING, storeFollowUp, wroteSince } from "../src/conversations";
import { HubError } from "../src/errors";
import { consult, profileOf, publishReply, type TurnDeps } from "../src/turns";

// A turn the assistant could not be reached for was answered with the fallback reply and left `retrying`.
// This job asks the assistant again; when it answers, and the user has not written since, its answer goes
// out as a follow-up: a second assistant message, on the bus and through the turn's channel.
//
// Idempotency: the follow-up is stored in the statement that moves the turn from retrying to answered
// (storeFollowUp), so a retried, duplicated or recovered job finds the turn answered and only publishes the
// stored follow-up again (listeners dedupe by message id, a Twilio delivery by the message's id).
//
// It runs under its conversation's turn lock (workers/ask.ts): never two assistant calls at once. While the
// assistant is still unreachable the job is retried with backoff; it gives up (the turn stays answered by its
// fallback, `failed`) MODEL_RETRY_FOR_MS after the fallback, when the assistant refuses, or when the user wrote.

export async function followUp(deps: TurnDeps, turnId: string): Promise<void> {
  const { prisma } = deps;
  const turn = await prisma.message.findUnique({
    where: { id: turnId },
    include: { reply: true, followUp: true, conversation: { select: { orgId: true } } },
  });
  if (!turn) return;
  if (turn.followUp) return publishReply(deps, turn, turn.conversation.orgId, turn.followUp);
  if (turn.status !== RETRYING) return;
  const log = deps.logger.child({ turn: turn.id, conversation: turn.conversationId });
  const since = (turn.reply ?? turn).createdAt.getTime();
  if (Date.now() - since >= (deps.followUps?.forMs ?? 0)) {
    log.info("no follow-up: the assistant did not answer in time");
    return endRetrying(prisma, turn.id);
  }
  if (await wroteSince(prisma, turn)) {
    log.info("no follow-up: the user wrote since");
    return endRetrying(prisma, turn.id);
  }

  const orgId = turn.conversation.orgId;
  try {
    const profile = await profileOf(deps, turn, orgId);
    const answer = await consult(deps, profile, turn, orgId);
    if (answer.handoff) {
      // The user was told "try again" already; a person is asked for when they do.
      log.info({ reason: answer.handoff.reason }, "no follow-up: the model asked for a person");
      return endRetrying(prisma, turn.id);
    }
    const message = await storeFollowUp(prisma, turn, answer, deps.channels.deliveredVia);
    if (!message) {
      log.info("no follow-up: the user wrote meanwhile, or a person has the conversation");
      return endRetrying(prisma, turn.id);
    }
    log.info({ provider: profile.provider, tokens: answer.tokensUsed }, "follow-up stored");
    await publishReply(deps, turn, orgId, message, profile.suggestions);
  } catch (err) {
    // Still unreachable: tried again after a backoff, until the time above runs out.
    if (err instanceof ProviderError && err.unreachable) throw err;
    if (!(err instanceof ProviderError || err instanceof HubError)) throw err;
    log.warn({ err: err.message }, "no follow-up: the assistant refused");
    await endRetrying(prisma, turn.id);
  }
}
