import type { Server } from "node:http";
import { Router } from "express";
import type Redis from "ioredis";
import { type EndUserTokenRules, setEndUserSecret } from "../../src/auth/endusers";
import type { KeyRing } from "../../src/auth/keys";
import type { OperatorSessions } from "../../src/auth/operators";
import type { ReplyBus } from "../../src/bus";
import type { Channel, ChannelRegistry } from "../../src/channels";
import { invalid } from "../../src/errors";
import { adminOnly, caller, requireKeyOrOperator } from "../../src/http/auth";
import { errorHandler, jsonBody } from "../../src/http/body";
import { ClientAddresses } from "../../src/http/client-address";
import type { HubDeps } from "../../src/hub";
import { Leases } from "../../src/leases";
import { AddressBudget, type AddressLimits } from "./budget";
import { wsOperations } from "./openapi";
import { OPERATORS_PATH, operatorSocketServer } from "./operators";
import { attachSocketServer } from "./server";

// The website visitors' channel: the /ws protocol (frames.ts), who a socket speaks for (visitors.ts),
// widget sessions (sessions.ts), one socket's traffic (connection.ts) and the endpoint (server.ts). The
// gateway's other socket, the operators' /ws/operators (operators.ts), is served beside it.
// A client frame becomes one InboundMessage for accept(); the reply bus's TurnEvents become frames.

export interface WsChannelDeps {
  hub: HubDeps;
  keys: KeyRing;
  /** The console's signed-in operators, whom /ws/operators admits by their cookie. */
  sessions: OperatorSessions;
  /** What an end-user token must satisfy besides its org's signature (aud, iss, clock tolerance). */
  endUserTokens: EndUserTokenRules;
  bus: ReplyBus;
  allowedOrigins: string[];
  maxFrameBytes: number;
  heartbeatMs: number;
  anonymousTtlMs: number;
  /** Anonymous visitors' budget per client address, counted in Redis (under `prefix`) across gateways. */
  addressLimits: AddressLimits;
  trustedProxies: string[];
  redis: Redis;
  prefix: string;
  /** Where an operator's typing is checked against (the conversation's org) and published: see operators.ts. */
  channels: ChannelRegistry;
}

export function createWsChannel(deps: WsChannelDeps): Channel {
  const { hub } = deps;
  // Renewed at every heartbeat: the places of a gateway gone for three heartbeats are free again.
  const leases = new Leases(deps.redis, deps.prefix, "ws-anonymous", 3 * deps.heartbeatMs);
  const budget = new AddressBudget(leases, hub.limiter, deps.addressLimits);
  return {
    name: "ws",
    routers: [secretRouter(deps)],
    operations: wsOperations,
    /** Serves /ws and /ws/operators on the gateway's HTTP server; close() before the server closes. */
    attach(server: Server) {
      const operators = operatorSocketServer({
        keys: deps.keys,
        sessions: deps.sessions,
        operators: { prisma: hub.prisma, bus: deps.bus, channels: deps.channels, logger: hub.logger },
        logger: hub.logger,
        allowedOrigins: deps.allowedOrigins,
        maxFrameBytes: deps.maxFrameBytes,
        heartbeatMs: deps.heartbeatMs,
      });
      const visitors = attachSocketServer(
        server,
        { hub, bus: deps.bus, prisma: hub.prisma, logger: hub.logger, anonymousTtlMs: deps.anonymousTtlMs, budget },
        {
          keys: deps.keys,
          endUserTokens: deps.endUserTokens,
          addresses: new ClientAddresses(deps.trustedProxies),
          allowedOrigins: deps.allowedOrigins,
          maxFrameBytes: deps.maxFrameBytes,
          heartbeatMs: deps.heartbeatMs,
          endpoints: { [OPERATORS_PATH]: operators.upgrade },
        },
      );
      return {
        async close() {
          await Promise.all([visitors.close(), operators.close()]);
        },
      };
    },
  };
}

/**
 * POST /api/ws/end-user-secret: sets the secret the org's backend signs end-user tokens with (a new random
 * one, or `{"secret": "..."}` of at least 32 characters) and returns it once. Old tokens stop working. An API
 * key or a console admin's cookie.
 */
function secretRouter(deps: WsChannelDeps): Router {
  const router = Router();
  router.post(
    "/api/ws/end-user-secret",
    ...jsonBody("4kb"),
    requireKeyOrOperator(deps.keys, deps.sessions),
    adminOnly,
    async (req, res, next) => {
      const given = (req.body as { secret?: unknown } | undefined)?.secret;
      if (given !== undefined && (typeof given !== "string" || given.length < 32)) {
        return next(invalid("secret must be a string of at least 32 characters", [{ field: "secret", message: "too short" }]));
      }
      const { orgId } = caller(res);
      const secret = await setEndUserSecret(deps.hub.prisma, orgId, given as string | undefined).catch(next);
      if (secret) res.json({ org_id: orgId, end_user_secret: secret });
    },
  );
  router.use(
    "/api/ws",
    errorHandler(
      (err) => ({ status: err.status, body: { error: err.code, message: err.message } }),
      (err) => deps.hub.logger.error({ err }, "ws api failed"),
    ),
  );
  return router;
}
