import type { NextFunction, Request, Response } from "express";
import twilio from "twilio";

/**
 * Refuses (403) a webhook whose X-Twilio-Signature does not match. Twilio signs the URL it called, so the
 * URL is rebuilt from PUBLIC_URL and the path, never from the Host this process saw behind a proxy.
 */
export function requireTwilioSignature(authToken: string, publicUrl: string) {
  return (req: Request, res: Response, next: NextFunction) => {
    const signature = req.header("x-twilio-signature");
    const params = (req.body ?? {}) as Record<string, unknown>;
    if (signature && twilio.validateRequest(authToken, signature, publicUrl + req.originalUrl, params)) return next();
    res.status(403).type("text/plain").send("Invalid or missing X-Twilio-Signature");
  };
}
