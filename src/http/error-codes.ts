import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

type Coded = { code: string; reason?: string; message?: string };

/** Errors yoga's plugins raise without extensions.code (variables get theirs in maskError); every other error has one. */
function codeFor(error: GraphQLError): Coded | undefined {
  if (error.message === 'Required CSRF header(s) not present') {
    return {
      code: 'BAD_REQUEST',
      reason: 'CSRF_HEADER_REQUIRED',
      message: 'Send the Authorization header (or x-graphql-yoga-csrf): a request without either could be a cross-site request',
    };
  }
  return undefined;
}

function withCode(error: GraphQLError): GraphQLError {
  if (!(error instanceof GraphQLError) || error.extensions.code !== undefined) return error;
  const coded = codeFor(error);
  if (!coded) return error;
  const { message, ...extensions } = coded;
  return new GraphQLError(message ?? error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, ...extensions },
  });
}

/** Gives those errors a stable code (README, "Errors") before the response is written. */
export const errorCodePlugin: Plugin = {
  onResultProcess({ result, setResult }) {
    if (Symbol.asyncIterator in result) return;
    const results = Array.isArray(result) ? result : [result];
    let changed = false;
    const coded = results.map((single) => {
      if (!single.errors?.length) return single;
      const errors = single.errors.map((error) => withCode(error as GraphQLError));
      changed ||= errors.some((error, index) => error !== single.errors![index]);
      return { ...single, errors };
    });
    if (changed) setResult(Array.isArray(result) ? coded : coded[0]!);
  },
};
