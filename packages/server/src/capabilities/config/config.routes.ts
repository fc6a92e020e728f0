import { Type } from '@sinclair/typebox';
import { allOf } from '../../core/access/access.resources.js';
import type { TypedApp } from '../../http/app.js';
import { errorResponses } from '../../http/error-schemas.js';
import type { ConfigService } from './config.service.js';

/** Files of 10,000 objects and more fit (the native door's default is 64 KiB). */
export const CONFIG_BODY_LIMIT = 32 * 1024 * 1024;

const tags = ['config'];

const FilesBody = {
  files: Type.Array(
    Type.Object(
      {
        path: Type.String({ minLength: 1, maxLength: 1000, description: 'Shown in problems (file:line)' }),
        text: Type.String({ maxLength: CONFIG_BODY_LIMIT, description: 'YAML (or JSON) text' }),
      },
      { additionalProperties: false },
    ),
    { minItems: 1, maxItems: 1000 },
  ),
};

/** Values of the files' secret references (ADR 0030), read by the client out of band. */
const ValuesField = {
  values: Type.Optional(
    Type.Array(
      Type.Object(
        {
          ref: Type.String({
            minLength: 5,
            maxLength: 1100,
            pattern: '^(env|file):',
            description: "`env:NAME`, or `file:PATH` with PATH from the declaring file's directory",
          }),
          value: Type.String({ maxLength: 65536, description: 'Never logged, stored in plain or echoed' }),
        },
        { additionalProperties: false },
      ),
      { maxItems: 10000 },
    ),
  ),
};

const valuesOf = (values: ReadonlyArray<{ ref: string; value: string }> | undefined) =>
  new Map((values ?? []).map((v) => [v.ref, v.value]));

const PlanBody = Type.Object({ ...FilesBody, ...ValuesField }, { additionalProperties: false });
const ApplyBody = Type.Object(
  {
    ...FilesBody,
    ...ValuesField,
    planHash: Type.Optional(
      Type.String({ maxLength: 100, description: 'Refuse unless the plan is still exactly this one' }),
    ),
    allowDelete: Type.Optional(Type.Boolean({ description: 'Without it, a plan that deletes is refused' })),
  },
  { additionalProperties: false },
);

const FieldChange = Type.Object({
  field: Type.String(),
  from: Type.Optional(Type.Unknown()),
  to: Type.Optional(Type.Unknown()),
});
const ConfigPlan = Type.Object(
  {
    changes: Type.Array(
      Type.Object({
        op: Type.Union([Type.Literal('create'), Type.Literal('update'), Type.Literal('delete')]),
        kind: Type.String(),
        name: Type.String(),
        fields: Type.Array(FieldChange),
      }),
    ),
    summary: Type.Object({ create: Type.Integer(), update: Type.Integer(), delete: Type.Integer() }),
    hash: Type.String({ description: '`sha256:…` of the changes: give it to apply as planHash' }),
  },
  { $id: 'ConfigPlan' },
);
const ApplyResult = Type.Object({
  plan: Type.Ref('ConfigPlan'),
  issued: Type.Array(
    Type.Object({
      kind: Type.String(),
      name: Type.String(),
      credential: Type.Record(Type.String(), Type.String()),
    }),
    { description: 'Credentials generated for created objects (access keys): shown once' },
  ),
});
const ExportResult = Type.Object({
  document: Type.Record(Type.String(), Type.Unknown(), {
    description: 'The live configuration in the file format (schemas/tessera-config.schema.json)',
  }),
});

/** `POST /v1/config/plan`, `POST /v1/config/apply`, `GET /v1/config/export` (ADR 0021). */
export function registerConfigRoutes(app: TypedApp, deps: { config: ConfigService }) {
  const { config } = deps;
  app.addSchema(ConfigPlan);
  // Reading every kind is the least a plan needs; apply checks each change's own right as well.
  const readAll = {
    permission: {
      action: 'read' as const,
      resource: () => allOf('identity'),
      resources: () => [...new Set(config.kinds().map((k) => k.resourceType))].map(allOf),
    },
  };

  app.post(
    '/v1/config/plan',
    {
      bodyLimit: CONFIG_BODY_LIMIT,
      config: { access: readAll },
      schema: {
        tags,
        summary: 'Plan identity-as-code files against the live configuration',
        description:
          'Changes (create, update, delete with the fields that change) and their hash. 400 `TESSERA_CONFIG_INVALID` with `details.problems` (file, line, column, message) when a file has problems.',
        body: PlanBody,
        'x-body-limit': CONFIG_BODY_LIMIT,
        response: { 200: { $ref: 'ConfigPlan' }, ...errorResponses(400, 401, 403, 413) },
      },
    },
    async (request) => config.plan(request.body.files, valuesOf(request.body.values)),
  );

  app.post(
    '/v1/config/apply',
    {
      bodyLimit: CONFIG_BODY_LIMIT,
      config: { access: readAll },
      schema: {
        tags,
        summary: 'Apply identity-as-code files in one transaction',
        description:
          'Each change also needs create, update or delete on its object. 409 `TESSERA_CONFIG_PLAN_STALE` when `planHash` no longer matches; 409 `TESSERA_CONFIG_DELETE_REFUSED` when the plan deletes without `allowDelete`. Nothing is applied on any error.',
        body: ApplyBody,
        'x-body-limit': CONFIG_BODY_LIMIT,
        response: { 200: ApplyResult, ...errorResponses(400, 401, 403, 409, 413) },
      },
    },
    async (request) =>
      config.apply(
        request.body.files,
        { planHash: request.body.planHash, allowDelete: request.body.allowDelete },
        request.ctx,
        request.permits,
        valuesOf(request.body.values),
      ),
  );

  app.get(
    '/v1/config/export',
    {
      config: { access: readAll },
      schema: {
        tags,
        summary: 'Export the live configuration as an identity-as-code document',
        description:
          'Objects the server created for itself (the bootstrap administrator, built-in roles) are left out.',
        response: { 200: ExportResult, ...errorResponses(401, 403) },
      },
    },
    async () => ({ document: await config.export() }),
  );
}
