import type { Plugin } from 'graphql-yoga';

/** The media types yoga parses a GraphQL POST body from, except forms (this API has no uploads). */
const ACCEPTED_MEDIA_TYPES = new Set(['application/json', 'application/graphql+json', 'application/graphql']);

/**
 * A POST with another content type gets 415 and a message naming it (yoga would parse a form body
 * as an empty request, or answer 415 with no body). The edge hands yoga only its endpoint's requests.
 */
export function contentTypePlugin(): Plugin {
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      if (request.method !== 'POST') return;
      const header = request.headers.get('content-type');
      const mediaType = header?.split(/[;,]/)[0]!.trim().toLowerCase() || null;
      if (mediaType && ACCEPTED_MEDIA_TYPES.has(mediaType)) return;
      const got = mediaType ? `its content type is "${mediaType}"` : 'it has no content type';
      endResponse(
        fetchAPI.Response.json(
          {
            errors: [
              {
                message: `Send the request body as JSON with the header "content-type: application/json"; ${got}`,
                extensions: { code: 'BAD_REQUEST', reason: 'UNSUPPORTED_CONTENT_TYPE' },
              },
            ],
          },
          { status: 415, headers: { 'accept-post': 'application/json' } },
        ),
      );
    },
  };
}
