import type { Database } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { AppError, upstreamError } from '../errors.ts';
import {
  AmoCrmApiAdapter,
  AmoCrmOAuthClient,
  longLivedToken,
  REAUTHORIZATION_HINT,
  type AmoCrmGateway,
  type AmoCrmSettings,
  type AmoCrmTokenSource,
  type AmoGrant,
  type AmoTokenPair,
} from '../adapters/amocrm/index.ts';
import { createSecretBox, SecretBoxError, type SecretBox } from './secret-box.ts';

/** A token this close to its expiry is refreshed before use rather than after a 401. */
const EXPIRY_MARGIN_MS = 60_000;

interface CurrentToken {
  accessToken: string;
  expiresAt: Date;
}

interface LockedRow {
  access_token_encrypted: string;
  refresh_token_encrypted: string | null;
  access_token_expires_at: Date;
}

export interface AmoCrmCredentialsOptions {
  db: Database;
  box: SecretBox;
  baseUrl: string;
  oauth: Pick<AmoCrmOAuthClient, 'exchange'>;
  log: Logger;
  /** First start: the grant the stored credential is created from when there is none. */
  seed?: { authorizationCode?: string; refreshToken?: string };
  /** Budget of the transaction that holds the row lock across one token request. */
  transactionTimeoutMs: number;
}

const reauthorizationRequired = (why: string) =>
  upstreamError(`${why}: ${REAUTHORIZATION_HINT}`, { reason: 'AMOCRM_REAUTHORIZATION_REQUIRED' });

const isReauthorization = (error: unknown) => error instanceof AppError && error.details.reason === 'AMOCRM_REAUTHORIZATION_REQUIRED';

/**
 * The amoCRM OAuth pair, stored encrypted in `amocrm_credentials` (one row per base URL).
 *
 * Refresh tokens work once, so a refresh happens inside a transaction holding `SELECT … FOR UPDATE`
 * on the row: the new pair is written and committed before its access token is used. In this
 * process concurrent callers share one refresh (`refreshing`); across processes the row lock
 * serialises them, and a process that gets the lock after another one refreshed finds a different
 * access token in the row than the one that failed, and uses it instead of refreshing again.
 */
export class AmoCrmCredentials implements AmoCrmTokenSource {
  private current: CurrentToken | undefined;
  private loading: Promise<CurrentToken> | undefined;
  private refreshing: Promise<string> | undefined;
  private seeding: Promise<void> | undefined;
  /** The sealed refresh token amoCRM last refused: not sent again until the row changes. */
  private refusedRefreshToken: string | undefined;

  constructor(private readonly options: AmoCrmCredentialsOptions) {}

  private get prisma() {
    return this.options.db.prisma;
  }

  private get where() {
    return { baseUrl: this.options.baseUrl };
  }

  private seal(kind: 'access_token' | 'refresh_token', value: string) {
    return this.options.box.seal(value, `amocrm:${this.options.baseUrl}:${kind}`);
  }

  private open(kind: 'access_token' | 'refresh_token', sealed: string) {
    try {
      return this.options.box.open(sealed, `amocrm:${this.options.baseUrl}:${kind}`);
    } catch (error) {
      if (!(error instanceof SecretBoxError)) throw error;
      this.options.log.error({ baseUrl: this.options.baseUrl }, 'the stored amoCRM credential cannot be decrypted with SECRETS_KEY');
      throw reauthorizationRequired('The stored amoCRM credential cannot be decrypted with this SECRETS_KEY');
    }
  }

  private sealedPair(pair: AmoTokenPair) {
    return {
      accessTokenEncrypted: this.seal('access_token', pair.access_token),
      refreshTokenEncrypted: this.seal('refresh_token', pair.refresh_token),
      accessTokenExpiresAt: new Date(Date.now() + pair.expires_in * 1000),
    };
  }

  /** Stores a pair (e.g. just issued for an authorization code), replacing the stored one. */
  async save(pair: AmoTokenPair): Promise<void> {
    const data = this.sealedPair(pair);
    await this.prisma.amoCrmCredential.upsert({ where: this.where, create: { ...this.where, ...data }, update: data });
    this.current = { accessToken: pair.access_token, expiresAt: data.accessTokenExpiresAt };
  }

  /**
   * At start-up (best effort; tried again on first use): a fresh AMOCRM_AUTHORIZATION_CODE replaces
   * the stored pair (the integration was installed again); an already used one is ignored.
   * AMOCRM_REFRESH_TOKEN only creates a missing row, with an expired access token, so the first
   * use refreshes it through the locked path.
   */
  initialize(): Promise<void> {
    this.seeding ??= this.seed().finally(() => (this.seeding = undefined));
    return this.seeding;
  }

  private async seed(): Promise<void> {
    const { seed, log, baseUrl } = this.options;
    if (seed?.authorizationCode) {
      try {
        await this.save(await this.options.oauth.exchange({ grant_type: 'authorization_code', code: seed.authorizationCode }));
        log.info({ baseUrl }, 'stored the amoCRM credential issued for AMOCRM_AUTHORIZATION_CODE');
        return;
      } catch (error) {
        const stored = await this.prisma.amoCrmCredential.count({ where: this.where });
        if (isReauthorization(error) && stored > 0) {
          log.info({ baseUrl }, 'AMOCRM_AUTHORIZATION_CODE was already used; keeping the stored amoCRM credential');
          return;
        }
        log.error({ baseUrl, code: error instanceof AppError ? error.code : undefined }, 'could not redeem AMOCRM_AUTHORIZATION_CODE');
        if (!seed.refreshToken) return;
      }
    }
    if (seed?.refreshToken) {
      await this.prisma.amoCrmCredential.createMany({
        data: [
          {
            ...this.where,
            accessTokenEncrypted: this.seal('access_token', ''),
            refreshTokenEncrypted: this.seal('refresh_token', seed.refreshToken),
            accessTokenExpiresAt: new Date(0),
          },
        ],
        skipDuplicates: true,
      });
    }
  }

  async accessToken(): Promise<string> {
    const current = this.current ?? (await this.load());
    if (current.expiresAt.getTime() - EXPIRY_MARGIN_MS <= Date.now()) return this.refresh(current.accessToken);
    return current.accessToken;
  }

  refresh(rejected: string): Promise<string> {
    if (this.current && this.current.accessToken !== rejected) return Promise.resolve(this.current.accessToken);
    this.refreshing ??= this.refreshUnderLock(rejected).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private load(): Promise<CurrentToken> {
    this.loading ??= (async () => {
      const select = { accessTokenEncrypted: true, accessTokenExpiresAt: true } as const;
      let row = await this.prisma.amoCrmCredential.findUnique({ where: this.where, select });
      if (!row && (this.options.seed?.authorizationCode || this.options.seed?.refreshToken)) {
        await this.initialize();
        row = await this.prisma.amoCrmCredential.findUnique({ where: this.where, select });
      }
      if (!row) throw reauthorizationRequired(`No amoCRM credential is stored for ${this.options.baseUrl}`);
      this.current = { accessToken: this.open('access_token', row.accessTokenEncrypted), expiresAt: row.accessTokenExpiresAt };
      return this.current;
    })().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async refreshUnderLock(rejected: string): Promise<string> {
    const { baseUrl, log } = this.options;
    const next = await this.prisma.$transaction(
      async (tx): Promise<CurrentToken> => {
        const [row] = await tx.$queryRaw<LockedRow[]>`
          SELECT access_token_encrypted, refresh_token_encrypted, access_token_expires_at
          FROM amocrm_credentials WHERE base_url = ${baseUrl} FOR UPDATE`;
        if (!row) throw reauthorizationRequired(`No amoCRM credential is stored for ${baseUrl}`);
        const stored = this.open('access_token', row.access_token_encrypted);
        // Another process refreshed while we waited for the lock: its pair is the one to use.
        if (stored !== rejected) return { accessToken: stored, expiresAt: row.access_token_expires_at };
        if (!row.refresh_token_encrypted) throw reauthorizationRequired('The stored amoCRM credential has no refresh token');
        if (row.refresh_token_encrypted === this.refusedRefreshToken) {
          throw reauthorizationRequired('amoCRM refused the stored refresh token');
        }
        const refreshToken = this.open('refresh_token', row.refresh_token_encrypted);
        let pair: AmoTokenPair;
        try {
          pair = await this.options.oauth.exchange({ grant_type: 'refresh_token', refresh_token: refreshToken } satisfies AmoGrant);
        } catch (error) {
          if (isReauthorization(error)) {
            this.refusedRefreshToken = row.refresh_token_encrypted;
            log.error({ baseUrl }, 'amoCRM refused the stored refresh token: the integration must be authorised again');
          }
          throw error;
        }
        const data = this.sealedPair(pair);
        await tx.amoCrmCredential.update({ where: this.where, data });
        return { accessToken: pair.access_token, expiresAt: data.accessTokenExpiresAt };
      },
      { timeout: this.options.transactionTimeoutMs, maxWait: this.options.transactionTimeoutMs },
    );
    // Committed: only now is the new access token used.
    this.current = next;
    if (next.accessToken !== rejected) log.info({ baseUrl }, 'amoCRM access token refreshed');
    return next.accessToken;
  }
}

export interface AmoCrmConnection {
  gateway: AmoCrmGateway;
  /** Set for OAuth: the stored, encrypted token pair. */
  credentials?: AmoCrmCredentials;
}

/** Builds the adapter for the settings; with OAuth also its credential store (seeded best effort). */
export async function connectAmoCrm(options: {
  settings: AmoCrmSettings;
  db: Database;
  log: Logger;
  /** Required for OAuth. */
  secretsKey?: string;
  /** Aborted at shutdown: requests still queued for amoCRM's rate limit are rejected, not sent. */
  signal?: AbortSignal;
}): Promise<AmoCrmConnection> {
  const { db, signal } = options;
  const settings = { ...options.settings, signal };
  const log = options.log.child({ upstream: 'amocrm' });
  if (settings.auth === 'long-lived') {
    return { gateway: new AmoCrmApiAdapter({ ...settings, tokens: longLivedToken(settings.accessToken), log }) };
  }
  if (!options.secretsKey) throw new Error('SECRETS_KEY is required for amoCRM OAuth');
  const oauth = new AmoCrmOAuthClient({ ...settings, log });
  const credentials = new AmoCrmCredentials({
    db,
    box: createSecretBox(options.secretsKey),
    baseUrl: settings.baseUrl,
    oauth,
    log,
    seed: { authorizationCode: settings.authorizationCode, refreshToken: settings.refreshToken },
    transactionTimeoutMs: settings.timeoutMs + 5000,
  });
  await credentials.initialize().catch((error: unknown) => log.error({ err: error }, 'amoCRM credential set-up failed'));
  return { gateway: new AmoCrmApiAdapter({ ...settings, tokens: credentials, log }), credentials };
}
