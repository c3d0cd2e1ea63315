-- Splits a Reciprocity PostgreSQL database's marks and matches into hash partitions by token
-- (Specs/scaling.md, "One PostgreSQL, partitioned"). Tokens are uniformly random, so the partitions stay equal
-- in size and no request touches more than one of them: a submission's rows and the row it may match share
-- the token. Programs, members, invites and the key log are not partitioned.
--
--   psql "postgres://USER@HOST:PORT/DB" -v ON_ERROR_STOP=1 -v partitions=16 -f scripts/partition-by-token.sql
--
-- Run it with every reciprocityd stopped (it takes the tables' exclusive locks and copies every row in one
-- transaction: nothing changes unless all of it succeeds). The test suite runs the store, API and
-- multi-process suites on a database converted by this file (RECIPROCITY_TEST_POSTGRES_PARTITIONS).
\if :{?partitions}
\else
\set partitions 16
\endif
SELECT set_config('reciprocity.partitions', :'partitions', false);

BEGIN;
LOCK TABLE mark, "match" IN ACCESS EXCLUSIVE MODE;

DO $$
DECLARE
    partitions integer := current_setting('reciprocity.partitions')::integer;
    name text;
BEGIN
    IF partitions < 2 OR partitions > 1024 THEN
        RAISE EXCEPTION 'partitions must be between 2 and 1024, got %', partitions;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'mark'::regclass) THEN
        RAISE EXCEPTION 'mark is already partitioned';
    END IF;
    FOREACH name IN ARRAY ARRAY['mark', 'match'] LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', name, name || '_unpartitioned');
        EXECUTE format('ALTER INDEX %I RENAME TO %I', name || '_pkey', name || '_unpartitioned_pkey');
        -- Same columns, defaults and CHECKs; the key includes the token, as a partitioned table's key must.
        EXECUTE format(
            'CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS, PRIMARY KEY (program_id, epoch, token)) '
            'PARTITION BY HASH (token)', name, name || '_unpartitioned');
        FOR remainder IN 0 .. partitions - 1 LOOP
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES WITH (MODULUS %s, REMAINDER %s)',
                name || '_p' || remainder, name, partitions, remainder);
        END LOOP;
    END LOOP;

    ALTER INDEX mark_by_member RENAME TO mark_unpartitioned_by_member;
    ALTER INDEX match_by_a RENAME TO match_unpartitioned_by_a;
    ALTER INDEX match_by_b RENAME TO match_unpartitioned_by_b;
    CREATE INDEX mark_by_member ON mark (member_id, epoch, token);
    CREATE INDEX match_by_a ON "match" (a_member_id, epoch);
    CREATE INDEX match_by_b ON "match" (b_member_id, epoch);
    ALTER TABLE mark
        ADD FOREIGN KEY (program_id) REFERENCES program(id) ON DELETE CASCADE,
        ADD FOREIGN KEY (member_id) REFERENCES member(id) ON DELETE CASCADE;
    ALTER TABLE "match"
        ADD FOREIGN KEY (program_id) REFERENCES program(id) ON DELETE CASCADE,
        ADD FOREIGN KEY (a_member_id) REFERENCES member(id) ON DELETE CASCADE,
        ADD FOREIGN KEY (b_member_id) REFERENCES member(id) ON DELETE CASCADE;

    INSERT INTO mark SELECT * FROM mark_unpartitioned;
    INSERT INTO "match" SELECT * FROM match_unpartitioned;
    DROP TABLE mark_unpartitioned;
    DROP TABLE match_unpartitioned;
END
$$;

COMMIT;
