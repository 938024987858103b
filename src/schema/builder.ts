import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import ValidationPlugin from '@pothos/plugin-validation';
import StorableTextPlugin from './storable-text-plugin.ts';
import { GraphQLScalarType } from 'graphql';
import { DateTimeResolver, HexColorCodeResolver, SafeIntResolver, URLResolver } from 'graphql-scalars';
import type PrismaTypes from '../generated/pothos-types.ts';
import { getDatamodel } from '../generated/pothos-types.ts';
import type { Config } from '../config.ts';
import type { Context } from './context.ts';
import { validationFailed } from '../errors.ts';

export interface SchemaTypes {
  Context: Context;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
  Scalars: {
    ID: { Input: string; Output: string };
    DateTime: { Input: Date; Output: Date };
    SafeInt: { Input: number; Output: number | bigint };
    URL: { Input: URL; Output: URL | string };
    HexColorCode: { Input: string; Output: string };
  };
}

/** A builder with the plugins' configuration and the scalars; each domain file adds its types to it. */
export function createBuilder(config: Pick<Config, 'NODE_ENV'>) {
  const builder = new SchemaBuilder<SchemaTypes>({
    defaultFieldNullability: false,
    // StorableTextPlugin after ValidationPlugin: it must run its config hook first (Pothos runs them last plugin first).
    plugins: [PrismaPlugin, ValidationPlugin, StorableTextPlugin],
    prisma: {
      client: (ctx) => ctx.deps.db.prisma,
      dmmf: getDatamodel(),
      exposeDescriptions: false,
      filterConnectionTotalCount: true,
      // Outside production, a resolver that fetches what Pothos selected for it and ignores it fails loudly.
      onUnusedQuery: config.NODE_ENV === 'production' ? null : 'error',
    },
    validation: {
      validationError: (result) =>
        validationFailed(
          result.issues.map((issue) => ({
            path: (issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment)),
            message: issue.message,
          })),
        ),
    },
  });

  builder.queryType({});
  builder.mutationType({});

  builder.addScalarType('DateTime', DateTimeResolver);
  builder.addScalarType('URL', URLResolver);
  builder.addScalarType('HexColorCode', HexColorCodeResolver);
  // Telegram ids are stored as BIGINT; they fit in 52 bits, so they serialize as plain numbers.
  builder.addScalarType(
    'SafeInt',
    new GraphQLScalarType({
      ...SafeIntResolver.toConfig(),
      serialize: (value) => SafeIntResolver.serialize(typeof value === 'bigint' ? Number(value) : value),
    }),
  );
  return builder;
}

export type Builder = ReturnType<typeof createBuilder>;
