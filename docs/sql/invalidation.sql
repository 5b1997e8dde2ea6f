-- supaguard: database-driven cache invalidation.
-- Statement-level triggers send one pg_notify per statement with ids only
-- (users, resources, tags). Idempotent: safe to run more than once.
SELECT pg_advisory_xact_lock(hashtext('supaguard.install'));

CREATE SCHEMA IF NOT EXISTS supaguard;

-- Trigger function. Arguments (set by install_invalidation_triggers):
--   0 channel, 1 user column, 2 resource column, 3 tag column, 4 tag prefix,
--   5 maximum payload bytes. An empty string means "not mapped".
-- Payload: {"v":1,"u":[user ids],"r":[resource ids],"t":[tags]}. When it would
-- exceed the limit: {"v":1,"t":[tags],"f":"tags"} if that fits, otherwise
-- {"v":1,"all":true,"f":"clear"}. TRUNCATE sends {"v":1,"all":true}.
CREATE OR REPLACE FUNCTION supaguard.notify_invalidation() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $supaguard$
DECLARE
  v_channel    text := TG_ARGV[0];
  v_user       text := nullif(TG_ARGV[1], '');
  v_resource   text := nullif(TG_ARGV[2], '');
  v_tag        text := nullif(TG_ARGV[3], '');
  v_tag_prefix text := coalesce(TG_ARGV[4], '');
  v_max_bytes  integer := coalesce(nullif(TG_ARGV[5], '')::integer, 7999);
  v_rows       text;
  v_users      jsonb;
  v_resources  jsonb;
  v_tags       jsonb;
  v_payload    text;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify(v_channel, '{"v":1,"all":true}');
    RETURN NULL;
  END IF;
  v_rows := CASE TG_OP
    WHEN 'INSERT' THEN 'SELECT * FROM supaguard_new'
    WHEN 'DELETE' THEN 'SELECT * FROM supaguard_old'
    ELSE 'SELECT * FROM supaguard_old UNION ALL SELECT * FROM supaguard_new'
  END;
  EXECUTE format(
    'SELECT %s, %s, %s FROM (%s) AS r',
    CASE WHEN v_user IS NULL THEN 'NULL::jsonb'
      ELSE format('jsonb_agg(DISTINCT r.%I::text) FILTER (WHERE r.%I IS NOT NULL)', v_user, v_user) END,
    CASE WHEN v_resource IS NULL THEN 'NULL::jsonb'
      ELSE format('jsonb_agg(DISTINCT r.%I::text) FILTER (WHERE r.%I IS NOT NULL)', v_resource, v_resource) END,
    CASE WHEN v_tag IS NULL THEN 'NULL::jsonb'
      ELSE format('jsonb_agg(DISTINCT %L || r.%I::text) FILTER (WHERE r.%I IS NOT NULL)', v_tag_prefix, v_tag, v_tag) END,
    v_rows
  ) INTO v_users, v_resources, v_tags;

  -- A statement that touched no mapped id (e.g. an UPDATE of zero rows) says nothing.
  IF v_users IS NULL AND v_resources IS NULL AND v_tags IS NULL THEN
    RETURN NULL;
  END IF;

  v_payload := jsonb_strip_nulls(jsonb_build_object('v', 1, 'u', v_users, 'r', v_resources, 't', v_tags))::text;
  IF octet_length(v_payload) > v_max_bytes THEN
    v_payload := NULL;
    IF v_tags IS NOT NULL THEN
      v_payload := jsonb_build_object('v', 1, 't', v_tags, 'f', 'tags')::text;
      IF octet_length(v_payload) > v_max_bytes THEN
        v_payload := NULL;
      END IF;
    END IF;
    v_payload := coalesce(v_payload, '{"v":1,"all":true,"f":"clear"}');
  END IF;
  PERFORM pg_notify(v_channel, v_payload);
  RETURN NULL;
END
$supaguard$;

-- Installs (or reinstalls) the four statement-level triggers on one table.
CREATE OR REPLACE FUNCTION supaguard.install_invalidation_triggers(
  target regclass,
  user_column text DEFAULT NULL,
  resource_column text DEFAULT NULL,
  tag_column text DEFAULT NULL,
  tag_prefix text DEFAULT '',
  channel text DEFAULT 'supaguard_invalidate',
  max_payload_bytes integer DEFAULT 7999
) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET client_min_messages = warning
AS $supaguard$
DECLARE
  v_column text;
  v_args   text;
BEGIN
  IF coalesce(user_column, resource_column, tag_column) IS NULL THEN
    RAISE EXCEPTION 'supaguard: map at least one of user_column, resource_column, tag_column' USING ERRCODE = '22023';
  END IF;
  FOREACH v_column IN ARRAY array_remove(ARRAY[user_column, resource_column, tag_column], NULL) LOOP
    IF NOT EXISTS (
      SELECT 1 FROM pg_attribute
      WHERE attrelid = target AND attname = v_column AND attnum > 0 AND NOT attisdropped
    ) THEN
      RAISE EXCEPTION 'supaguard: column % does not exist in %', v_column, target USING ERRCODE = '42703';
    END IF;
  END LOOP;
  IF channel IS NULL OR channel = '' OR octet_length(channel) > 63 THEN
    RAISE EXCEPTION 'supaguard: channel must be 1 to 63 bytes' USING ERRCODE = '22023';
  END IF;
  IF max_payload_bytes IS NULL OR max_payload_bytes < 64 OR max_payload_bytes > 7999 THEN
    RAISE EXCEPTION 'supaguard: max_payload_bytes must be between 64 and 7999' USING ERRCODE = '22023';
  END IF;
  v_args := format('%L, %L, %L, %L, %L, %L', channel, coalesce(user_column, ''), coalesce(resource_column, ''),
    coalesce(tag_column, ''), coalesce(tag_prefix, ''), max_payload_bytes::text);

  PERFORM supaguard.uninstall_invalidation_triggers(target);
  EXECUTE format('CREATE TRIGGER supaguard_invalidate_insert AFTER INSERT ON %s '
    'REFERENCING NEW TABLE AS supaguard_new FOR EACH STATEMENT EXECUTE FUNCTION supaguard.notify_invalidation(%s)', target, v_args);
  EXECUTE format('CREATE TRIGGER supaguard_invalidate_update AFTER UPDATE ON %s '
    'REFERENCING OLD TABLE AS supaguard_old NEW TABLE AS supaguard_new FOR EACH STATEMENT EXECUTE FUNCTION supaguard.notify_invalidation(%s)', target, v_args);
  EXECUTE format('CREATE TRIGGER supaguard_invalidate_delete AFTER DELETE ON %s '
    'REFERENCING OLD TABLE AS supaguard_old FOR EACH STATEMENT EXECUTE FUNCTION supaguard.notify_invalidation(%s)', target, v_args);
  EXECUTE format('CREATE TRIGGER supaguard_invalidate_truncate AFTER TRUNCATE ON %s '
    'FOR EACH STATEMENT EXECUTE FUNCTION supaguard.notify_invalidation(%s)', target, v_args);
END
$supaguard$;

-- Removes the triggers from one table (no error when they are absent).
CREATE OR REPLACE FUNCTION supaguard.uninstall_invalidation_triggers(target regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET client_min_messages = warning
AS $supaguard$
BEGIN
  EXECUTE format('DROP TRIGGER IF EXISTS supaguard_invalidate_insert ON %s', target);
  EXECUTE format('DROP TRIGGER IF EXISTS supaguard_invalidate_update ON %s', target);
  EXECUTE format('DROP TRIGGER IF EXISTS supaguard_invalidate_delete ON %s', target);
  EXECUTE format('DROP TRIGGER IF EXISTS supaguard_invalidate_truncate ON %s', target);
END
$supaguard$;
