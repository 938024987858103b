/** Prisma's known request errors carry a code; P2002 is a unique constraint violation. */
export const isUniqueViolation = (error: unknown) =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002';
