-- Hand-written (Prisma does not model functions or triggers, so the drift check ignores them).
-- Processes that cache authenticated tokens LISTEN on api_token_changed: any change to a token row,
-- from anywhere (a revoke, another process, manual SQL, a cascade), evicts it by its hash.
CREATE FUNCTION "api_token_changed_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_LEVEL = 'ROW' THEN
    PERFORM pg_notify('api_token_changed', OLD.token_hash);
  ELSE
    -- TRUNCATE has no rows: an empty payload evicts every token.
    PERFORM pg_notify('api_token_changed', '');
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "api_tokens_changed_notify" AFTER UPDATE OR DELETE ON "api_tokens"
  FOR EACH ROW EXECUTE FUNCTION "api_token_changed_notify"();

CREATE TRIGGER "api_tokens_truncated_notify" AFTER TRUNCATE ON "api_tokens"
  FOR EACH STATEMENT EXECUTE FUNCTION "api_token_changed_notify"();
