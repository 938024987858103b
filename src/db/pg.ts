import { PrismaPg } from '@prisma/adapter-pg';
import { DriverAdapterError, type SqlDriverAdapter } from '@prisma/driver-adapter-utils';
import pg from 'pg';

/**
 * @prisma/adapter-pg 7.10 runs a migration script by splitting it on every ';', which cuts
 * dollar-quoted function bodies (our trigger functions) apart. This factory sends each script
 * whole, as Prisma's own schema engine does; PostgreSQL runs it as one implicit transaction.
 */
export class PgAdapterFactory extends PrismaPg {
  override async connect() {
    return sendingScriptsWhole(await super.connect());
  }

  override async connectToShadowDb() {
    return sendingScriptsWhole(await super.connectToShadowDb());
  }
}

function sendingScriptsWhole<Adapter extends SqlDriverAdapter & { underlyingDriver(): pg.Pool }>(adapter: Adapter): Adapter {
  adapter.executeScript = async (script: string) => {
    try {
      await adapter.underlyingDriver().query(script);
    } catch (error) {
      if (!(error instanceof pg.DatabaseError)) throw error;
      // The shape adapter-pg gives the schema engine, which then names the failing migration and error.
      throw new DriverAdapterError({
        kind: 'postgres',
        code: error.code ?? 'N/A',
        severity: error.severity ?? 'N/A',
        message: error.message,
        detail: error.detail,
        column: error.column,
        hint: error.hint,
      });
    }
  };
  return adapter;
}
