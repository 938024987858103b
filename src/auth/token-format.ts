/** A recognisable prefix lets secret scanners find leaked tokens. */
export const TOKEN_PREFIX = 'iql_';
/** The prefix and 32 random bytes in base64url. */
export const TOKEN_PATTERN = /^iql_[A-Za-z0-9_-]{43}$/;
