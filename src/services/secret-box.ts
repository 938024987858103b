import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Encrypts secrets at rest (amoCRM tokens) with AES-256-GCM under SECRETS_KEY.
 *
 * A sealed value is `v1.<base64url(iv | tag | ciphertext)>`: a fresh 12-byte IV per value, and the
 * 16-byte authentication tag, so a changed byte or a wrong key fails to open instead of yielding
 * garbage. An optional `context` is bound in as additional authenticated data: a value sealed for
 * one column cannot be opened as another (e.g. an access token moved into the refresh token column).
 */
export interface SecretBox {
  seal(plaintext: string, context?: string): string;
  /** Throws SecretBoxError on a wrong key, a wrong context or tampered data. */
  open(sealed: string, context?: string): string;
}

export class SecretBoxError extends Error {}

const VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** 32 bytes from their base64 (or base64url) text; throws a message fit for a config error. */
export function parseSecretsKey(text: string): Buffer {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) throw new SecretBoxError('must be base64 text');
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new SecretBoxError(`must be ${KEY_BYTES} bytes in base64 (got ${key.length}); make one with: openssl rand -base64 32`);
  }
  return key;
}

/** A new random key in the SECRETS_KEY format. */
export const randomSecretsKey = (): string => randomBytes(KEY_BYTES).toString('base64');

export function createSecretBox(secretsKey: string | Buffer): SecretBox {
  const key = typeof secretsKey === 'string' ? parseSecretsKey(secretsKey) : Buffer.from(secretsKey);
  if (key.length !== KEY_BYTES) throw new SecretBoxError(`the key must be ${KEY_BYTES} bytes`);

  return {
    seal(plaintext, context = '') {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url')}`;
    },

    open(sealed, context = '') {
      const [version, payload, ...rest] = sealed.split('.');
      if (version !== VERSION || payload === undefined || rest.length > 0) {
        throw new SecretBoxError('not a sealed secret (unknown format)');
      }
      const bytes = Buffer.from(payload, 'base64url');
      if (bytes.length < IV_BYTES + TAG_BYTES) throw new SecretBoxError('not a sealed secret (too short)');
      try {
        const decipher = createDecipheriv(ALGORITHM, key, bytes.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
        return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretBoxError('cannot decrypt a stored secret: SECRETS_KEY is not the key it was sealed with, or the data was changed');
      }
    },
  };
}
