-- Splits a Reciprocity PostgreSQL database's marks and matches into hash partitions by token
-- (Specs/scaling.md, "Beyond one node"). Tokens are uniformly random, so the partitions stay equal in size,
-- and no request touches more than one of them for a token: a submission's row and the row it may complete
-- share the token. Programs, members, invites and the key log are not partitioned.
--
--   PGOPTIONS='-c reciprocity.partitions=16' psql "postgres://USER@HOST:PORT/DB" -f scripts/partition-by-token.sql
--
-- (16 partitions when reciprocity.partitions is not set.) Run it with every reciprocityd stopped. It is one
-- statement, so one transaction: it takes the tables' exclusive locks, copies every row, checks the result,
-- and changes nothing unless all of it succeeds. It refuses a database that is already partitioned. The test
-- suite runs the store, mark API and multi-process suites on databases converted by this file
-- (RECIPROCITY_TEST_POSTGRES_PARTITIONS in scripts/test.sh).
DO $$
DECLARE
    partitions integer := coalesce(nullif(current_setting('reciprocity.partitions', true), ''), '16')::integer;
    name text;
    target record;
BEGIN
    IF partitions < 2 OR partitions > 1024 THEN
        RAISE EXCEPTION 'partitions must be between 2 and 1024, got %', partitions;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'mark'::regclass) THEN
        RAISE EXCEPTION 'mark is already partitioned';
    END IF;
    LOCK TABLE mark, "match" IN ACCESS EXCLUSIVE MODE;
    FOREACH name IN ARRAY ARRAY['mark', 'match'] LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', name, name || '_unpartitioned');
        EXECUTE format('ALTER INDEX %I RENAME TO %I', name || '_pkey', name || '_unpartitioned_pkey');
        -- Same columns, defaults and CHECKs; the key includes the token, as a partitioned table's key must.
        EXECUTE format(
            'CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS, PRIMARY KEY (token, program_id, epoch)) '
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

    -- Each column keeps its statistics target (0 for tokens, tags and notes: migration v3 of
    -- PostgresStore+Migrations.swift), which neither LIKE nor PARTITION OF copies; on the parent it reaches
    -- every partition.
    FOREACH name IN ARRAY ARRAY['mark', 'match'] LOOP
        FOR target IN SELECT attname, attstattarget FROM pg_attribute
            WHERE attrelid = (name || '_unpartitioned')::regclass AND attnum > 0 AND NOT attisdropped
                AND attstattarget >= 0
        LOOP
            EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET STATISTICS %s', name, target.attname, target.attstattarget);
        END LOOP;
    END LOOP;

    INSERT INTO mark SELECT * FROM mark_unpartitioned;
    INSERT INTO "match" SELECT * FROM match_unpartitioned;
    DROP TABLE mark_unpartitioned;
    DROP TABLE match_unpartitioned;

    -- What the suites then run on is what this file promises.
    IF (SELECT count(*) FROM pg_inherits WHERE inhparent = 'mark'::regclass) <> partitions
        OR (SELECT count(*) FROM pg_inherits WHERE inhparent = '"match"'::regclass) <> partitions THEN
        RAISE EXCEPTION 'the tables do not have % partitions each', partitions;
    END IF;
END
$$;
