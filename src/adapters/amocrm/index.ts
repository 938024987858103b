export * from './settings.ts';
export * from './transport.ts';
export * from './errors.ts';
export * from './oauth.ts';
export * from './api.ts';
