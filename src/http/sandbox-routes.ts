import { Hono } from 'hono';
import { z } from 'zod';
import { forbidden } from '../errors.ts';
import { parseInput } from '../services/input-rules.ts';
import { SANDBOX_ACCOUNT_ID } from '../sandbox/demo-data.ts';
import type { TelegramEmulator } from '../sandbox/telegram-emulator.ts';
import { EmulatorRefusal } from '../sandbox/telegram/errors.ts';
import { requireViewer, type RequestAuthenticator, type ViewerEnv } from './authenticate.ts';

const userId = z.number().int().positive('must be a Telegram user id');
const chatId = z.number().int().refine(Number.isSafeInteger, 'must be a Telegram chat id');
const joinBody = z.union([z.object({ inviteLink: z.string().min(1), userId }), z.object({ chatId, userId })]);
const leaveBody = z.object({ chatId, userId });

/** A JSON body, or VALIDATION_FAILED. */
async function bodyOf<S extends z.ZodType>(request: Request, schema: S): Promise<z.output<S>> {
  const body: unknown = await request.json().catch(() => undefined);
  return parseInput(schema, body);
}

/**
 * Sandbox test helpers, like Stripe's: they make an emulated user act in the emulated Telegram,
 * whose updates then reach the server as Telegram's would. Only the demo account may use them.
 */
export function sandboxRoutes(emulator: TelegramEmulator, auth: RequestAuthenticator) {
  const routes = new Hono<ViewerEnv>();
  routes.use(requireViewer(auth));
  routes.use(async (c, next) => {
    if (c.get('viewer').accountId !== SANDBOX_ACCOUNT_ID) throw forbidden('Only the sandbox account may drive the emulated Telegram');
    await next();
  });
  const act = (run: () => string) => {
    try {
      return Response.json({ result: run() });
    } catch (error) {
      if (error instanceof EmulatorRefusal) return Response.json({ error: error.text }, { status: 409 });
      throw error;
    }
  };
  routes.post('/join', async (c) => {
    const body = await bodyOf(c.req.raw, joinBody);
    return act(() => emulator.join('inviteLink' in body ? body.inviteLink : body.chatId, body.userId));
  });
  routes.post('/leave', async (c) => {
    const body = await bodyOf(c.req.raw, leaveBody);
    return act(() => {
      emulator.leave(body.chatId, body.userId);
      return 'left';
    });
  });
  return routes;
}
