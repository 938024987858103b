import type { Logger } from '../../logger.ts';
import { AMOCRM_ACCESS_TOKEN_PATH, type AmoGrant, type AmoTokenPair } from './settings.ts';
import { AmoCrmTransport, AmoTransportError } from './transport.ts';
import { mapAmoCrmError } from './errors.ts';

/** The OAuth token endpoint (its own rate limiter, so a refresh never queues behind API calls). */
export class AmoCrmOAuthClient {
  private readonly transport: AmoCrmTransport;

  constructor(
    private readonly options: {
      baseUrl: string;
      clientId: string;
      clientSecret: string;
      redirectUri: string;
      rateLimitPerSecond: number;
      timeoutMs: number;
      log: Logger;
      signal?: AbortSignal;
    },
  ) {
    this.transport = new AmoCrmTransport(options);
  }

  /** Throws a mapped AppError (reason AMOCRM_REAUTHORIZATION_REQUIRED for a used or expired grant). */
  async exchange(grant: AmoGrant): Promise<AmoTokenPair> {
    let body: unknown;
    try {
      body = await this.transport.post({
        path: AMOCRM_ACCESS_TOKEN_PATH,
        body: {
          client_id: this.options.clientId,
          client_secret: this.options.clientSecret,
          redirect_uri: this.options.redirectUri,
          ...grant,
        },
      });
    } catch (error) {
      const { error: mapped } = mapAmoCrmError(error, 'oauth');
      this.options.log.warn(
        { grantType: grant.grant_type, code: mapped.code, reason: mapped.details.reason },
        'amoCRM token request failed',
      );
      throw mapped;
    }
    const pair = body as Partial<AmoTokenPair>;
    if (typeof pair.access_token !== 'string' || typeof pair.refresh_token !== 'string' || typeof pair.expires_in !== 'number') {
      throw mapAmoCrmError(new AmoTransportError('unexpected-body', AMOCRM_ACCESS_TOKEN_PATH), 'oauth').error;
    }
    return { access_token: pair.access_token, refresh_token: pair.refresh_token, expires_in: pair.expires_in };
  }
}
