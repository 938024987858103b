import { describe, expect, it } from 'vitest';
import { createSecretBox, parseSecretsKey, randomSecretsKey, SecretBoxError } from '../src/services/secret-box.ts';

describe('secret box (AES-256-GCM)', () => {
  const key = randomSecretsKey();
  const box = createSecretBox(key);

  it('round-trips text, and seals the same text differently each time', () => {
    for (const secret of ['', 'def50200abc', 'токен ✓ '.repeat(50)]) {
      const sealed = box.seal(secret, 'ctx');
      expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
      if (secret) expect(sealed).not.toContain(secret);
      expect(box.open(sealed, 'ctx')).toBe(secret);
    }
    expect(box.seal('same')).not.toBe(box.seal('same'));
  });

  it('detects tampering with the IV, the tag or the ciphertext', () => {
    const sealed = box.seal('a refresh token', 'ctx');
    const bytes = Buffer.from(sealed.slice(3), 'base64url');
    for (const position of [0, 11, 12, 27, 28, bytes.length - 1]) {
      const changed = Buffer.from(bytes);
      changed[position] = changed[position]! ^ 0x01;
      expect(() => box.open(`v1.${changed.toString('base64url')}`, 'ctx'), `byte ${position}`).toThrow(SecretBoxError);
    }
    expect(() => box.open(`v1.${bytes.subarray(0, bytes.length - 1).toString('base64url')}`, 'ctx')).toThrow(SecretBoxError);
    expect(() => box.open('v2.abc', 'ctx')).toThrow(/unknown format/);
    expect(() => box.open('plain text', 'ctx')).toThrow(SecretBoxError);
  });

  it('fails with a wrong key or a wrong context', () => {
    const sealed = box.seal('an access token', 'amocrm:access_token');
    expect(() => createSecretBox(randomSecretsKey()).open(sealed, 'amocrm:access_token')).toThrow(/SECRETS_KEY/);
    expect(() => box.open(sealed, 'amocrm:refresh_token')).toThrow(SecretBoxError);
    expect(createSecretBox(key).open(sealed, 'amocrm:access_token')).toBe('an access token');
  });

  it('accepts only 32-byte base64 keys', () => {
    expect(parseSecretsKey(key)).toHaveLength(32);
    expect(parseSecretsKey(Buffer.alloc(32, 7).toString('base64url'))).toHaveLength(32);
    expect(() => parseSecretsKey(Buffer.alloc(16).toString('base64'))).toThrow(/32 bytes/);
    expect(() => parseSecretsKey('not base64 at all!')).toThrow(/base64/);
    expect(() => createSecretBox(Buffer.alloc(31))).toThrow(SecretBoxError);
  });
});
