import SchemaBuilder, {
  BasePlugin,
  unwrapInputFieldType,
  type PothosInputFieldConfig,
  type PothosOutputFieldConfig,
  type SchemaTypes,
} from '@pothos/core';
import { storableText } from '../services/input-rules.ts';

const pluginName = 'storableText';
const TEXT_SCALARS = new Set(['String', 'ID']);

/**
 * Gives every String and ID argument and input field the `storableText` rule, as its first rule
 * in the validation plugin, so no text PostgreSQL cannot store reaches a resolver (or Telegram).
 * List it after ValidationPlugin: Pothos runs config hooks last plugin first, and the validation
 * plugin reads the rules of a field's arguments in its own onOutputFieldConfig.
 */
export class StorableTextPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onInputFieldConfig(fieldConfig: PothosInputFieldConfig<Types>): PothosInputFieldConfig<Types> {
    return this.withStorableText(fieldConfig);
  }

  override onOutputFieldConfig(fieldConfig: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> {
    const args = Object.fromEntries(Object.entries(fieldConfig.args).map(([name, arg]) => [name, this.withStorableText(arg)]));
    return { ...fieldConfig, args };
  }

  private withStorableText<Config extends PothosInputFieldConfig<Types>>(config: Config): Config {
    if (!TEXT_SCALARS.has(this.buildCache.getTypeConfig(unwrapInputFieldType(config.type)).name)) return config;
    const extensions = config.extensions ?? {};
    const validation = extensions['@pothos/plugin-validation'] ?? {};
    const schemas = validation.schemas ?? [];
    if (schemas.includes(storableText)) return config;
    // The validation plugin runs a field's rules from the end of this list to its start.
    return {
      ...config,
      extensions: { ...extensions, '@pothos/plugin-validation': { ...validation, schemas: [...schemas, storableText] } },
    };
  }
}

declare global {
  // Pothos plugins register their types in this global namespace.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  export namespace PothosSchemaTypes {
    interface Plugins<Types extends SchemaTypes> {
      storableText: StorableTextPlugin<Types>;
    }
  }
}

SchemaBuilder.registerPlugin(pluginName, StorableTextPlugin);

export default pluginName;
