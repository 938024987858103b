import type { GraphiQLOptions } from 'graphql-yoga';

/** What the editor opens with: a named operation against the sandbox's demo channel. */
export const GRAPHIQL_EXAMPLE_OPERATION = `# Run it: the ▶ button or Ctrl+Enter.
# Sandbox mode fills in the token (Headers,
# below); elsewhere put it there:
# { "Authorization": "Bearer iql_…" }
query DemoChannelLinks {
  inviteLinks(
    channelId: -1001000000001
    limit: 10
    orderBy: [{ field: CREATED_AT, direction: DESC }]
  ) {
    total
    items {
      id
      name
      inviteLink
      memberLimit
      budget
      tags { name }
    }
  }
}
`;

export interface GraphiQL {
  /** yoga's `graphiql` option. */
  options: GraphiQLOptions;
  /**
   * yoga's `renderGraphiQL`: the page with GraphiQL's scripts, styles, fonts and editor workers
   * inlined (no CDN), rendered on first use and then reused (about 9 MB).
   */
  render(): Promise<string>;
}

/** GraphiQL served by the server itself; `token` (sandbox mode) pre-fills the Authorization header. */
export function createGraphiQL(token?: string): GraphiQL {
  const options: GraphiQLOptions = {
    title: 'inviteql',
    defaultQuery: GRAPHIQL_EXAMPLE_OPERATION,
    headers: token ? JSON.stringify({ Authorization: `Bearer ${token}` }) : undefined,
  };
  let page: Promise<string> | undefined;
  return {
    options,
    // Imported on first use: the module is the 9 MB bundle, which most processes never serve.
    render: () => (page ??= import('@graphql-yoga/render-graphiql').then(({ renderGraphiQL }) => renderGraphiQL(options))),
  };
}
