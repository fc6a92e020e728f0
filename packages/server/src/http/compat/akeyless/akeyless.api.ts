import { type Static, type TObject, type TProperties, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCodes, TesseraError } from '../../../core/shared/errors.js';
import type { RouteAccess } from '../../access.js';
import type { TypedApp } from '../../app.js';
import { classifyError, setRetryAfter } from '../../error-mapper.js';
import { credentialFromBody } from './akeyless.wire.js';

/**
 * The Akeyless-compatible front door (DESIGN §3 `compat/akeyless`): every command is a POST of one
 * JSON body to `/akeyless/<command>`, the credential inside the body. Each command maps onto the
 * same services and the same policy as the native API; this layer only translates names, units
 * and shapes.
 */

/** The credential keys every command accepts. Their values are checked by the access hook. */
const Credentials = {
  token: Type.Optional(Type.String({ maxLength: 8192 })),
  'uid-token': Type.Optional(Type.String({ maxLength: 8192 })),
  json: Type.Optional(Type.Boolean()),
};

/**
 * A command body: the listed keys are typed, unknown keys are ignored (the SDK always sends the
 * defaults of features Tessera does not have).
 */
export function commandBody<P extends TProperties>(properties: P) {
  return Type.Object({ ...Credentials, ...properties }, { additionalProperties: true });
}

export const Str = (maxLength = 512) => Type.String({ maxLength });
export const NonEmpty = (maxLength = 512) => Type.String({ minLength: 1, maxLength });
export const Int = (minimum = -1, maximum = 1e12) => Type.Integer({ minimum, maximum });
export const Strings = (maxItems = 100, maxLength = 512) =>
  Type.Array(Type.String({ maxLength }), { maxItems });

export type CommandRequest<B extends TObject> = FastifyRequest<{ Body: Static<B> }>;

/** Registers command handlers on the `/akeyless` scope. */
export interface CommandRegistrar {
  /** `names`: the command, or the command and its aliases (the SDK's older and newer spellings). */
  command<B extends TObject>(
    names: string | readonly string[],
    spec: {
      access: RouteAccess;
      body: B;
      summary: string;
      /** A larger body limit than the server's default (commands that carry a secret value). */
      bodyLimit?: number;
    },
    handler: (request: CommandRequest<B>, reply: FastifyReply) => Promise<unknown>,
  ): void;
}

/** `{"error": "…"}`, with the stable code in a header for those who want it. */
function renderError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const { error: e, status } = classifyError(error, request);
  let message = e.message;
  const field = e.details?.field;
  if (
    e.code === ErrorCodes.VALIDATION_FAILED &&
    typeof field === 'string' &&
    /required property/.test(message)
  ) {
    message = `Missing required parameter: ${field}.`;
  }
  setRetryAfter(reply, e, status);
  return reply
    .status(status)
    .header('x-tessera-error-code', e.code)
    .type('application/json; charset=utf-8')
    .send({ error: message });
}

/**
 * Mounts the commands on `scope`, the Akeyless door's own context (mounted at `/akeyless`).
 * `register` receives a registrar whose commands declare their access like every other route; the
 * server refuses to start when one does not.
 */
export function mountAkeylessCommands(
  scope: FastifyInstance,
  register: (commands: CommandRegistrar) => void,
) {
  const typed = scope as unknown as TypedApp;
  typed.setErrorHandler(renderError);
  typed.setNotFoundHandler((request, reply) =>
    renderError(
      new TesseraError(
        ErrorCodes.ROUTE_NOT_FOUND,
        `Unknown command ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}; Akeyless commands are POST /akeyless/<command>.`,
      ),
      request,
      reply,
    ),
  );
  register({
    command(names, spec, handler) {
      for (const name of typeof names === 'string' ? [names] : names) {
        typed.post(
          `/${name}`,
          {
            config: { access: spec.access, credentialFrom: credentialFromBody, uidTokenAsSession: true },
            ...(spec.bodyLimit ? { bodyLimit: spec.bodyLimit } : {}),
            // Not part of the native OpenAPI document (and so not of the SDK's wire types).
            schema: { hide: true, summary: spec.summary, body: spec.body },
          },
          async (request, reply) => {
            const answer = await handler(request as never, reply);
            reply.type('application/json; charset=utf-8');
            return answer ?? {};
          },
        );
      }
    },
  });
}
