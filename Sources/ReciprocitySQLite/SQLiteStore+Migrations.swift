import Foundation
import GRDB
public import ReciprocityCore
public import ReciprocityStore

extension SQLiteStore {
    /// The schema, one migration per change; never edit a shipped migration.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE program (
                        id INTEGER PRIMARY KEY,
                        name TEXT NOT NULL UNIQUE,
                        max_marks INTEGER NOT NULL,
                        epoch INTEGER NOT NULL,
                        created_at INTEGER NOT NULL
                    );
                    CREATE TABLE invite (
                        id INTEGER PRIMARY KEY,
                        program_id INTEGER NOT NULL REFERENCES program(id) ON DELETE CASCADE,
                        code_digest BLOB NOT NULL UNIQUE,
                        uses_left INTEGER NOT NULL,
                        expires_at INTEGER,
                        created_at INTEGER NOT NULL
                    );
                    CREATE TABLE member (
                        id INTEGER PRIMARY KEY,
                        program_id INTEGER NOT NULL REFERENCES program(id) ON DELETE CASCADE,
                        handle TEXT NOT NULL,
                        public_key BLOB NOT NULL,
                        credential_digest BLOB NOT NULL UNIQUE,
                        display_name TEXT NOT NULL,
                        headline TEXT NOT NULL,
                        offers_mentoring INTEGER NOT NULL,
                        seeks_mentoring INTEGER NOT NULL,
                        status TEXT NOT NULL,
                        joined_at INTEGER NOT NULL,
                        UNIQUE (program_id, handle),
                        UNIQUE (program_id, public_key)
                    );
                    CREATE TABLE member_tag (
                        member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        position INTEGER NOT NULL,
                        tag TEXT NOT NULL,
                        PRIMARY KEY (member_id, position)
                    ) WITHOUT ROWID;
                    CREATE INDEX member_tag_by_tag ON member_tag(tag);
                    -- A pending mark. Nothing here names or points to the target: only the submitter.
                    -- Tokens bind program and epoch, so the token alone is the key.
                    CREATE TABLE mark (
                        token BLOB NOT NULL PRIMARY KEY,
                        program_id INTEGER NOT NULL REFERENCES program(id) ON DELETE CASCADE,
                        epoch INTEGER NOT NULL,
                        member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        tag BLOB NOT NULL,
                        created_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX mark_by_member ON mark(member_id, epoch);
                    -- A reciprocated mark: both members and both tags. Created in the transaction that
                    -- deletes the first member's pending mark.
                    CREATE TABLE "match" (
                        id INTEGER PRIMARY KEY,
                        token BLOB NOT NULL UNIQUE,
                        program_id INTEGER NOT NULL REFERENCES program(id) ON DELETE CASCADE,
                        epoch INTEGER NOT NULL,
                        first_member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        first_tag BLOB NOT NULL,
                        second_member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        second_tag BLOB NOT NULL,
                        matched_at INTEGER NOT NULL
                    );
                    CREATE INDEX match_by_first ON "match"(first_member_id);
                    CREATE INDEX match_by_second ON "match"(second_member_id);
                    """)
        }
        migrator.registerMigration("v2-sealed-notes") { db in
            // A note is opaque ciphertext of a fixed size; the server never looks inside.
            try db.execute(
                sql: """
                    ALTER TABLE mark ADD COLUMN note BLOB;
                    ALTER TABLE "match" ADD COLUMN first_note BLOB;
                    ALTER TABLE "match" ADD COLUMN second_note BLOB;
                    """)
        }
        migrator.registerMigration("v3-key-log") { db in
            // The key-transparency log (Specs/transparency.md): one row per directory change, never updated
            // or deleted. Members that joined before the log existed get their entries now, in join order.
            try db.execute(
                sql: """
                    CREATE TABLE key_log (
                        program_id INTEGER NOT NULL REFERENCES program(id) ON DELETE CASCADE,
                        idx INTEGER NOT NULL,
                        event TEXT NOT NULL,
                        handle TEXT NOT NULL,
                        public_key BLOB NOT NULL,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (program_id, idx)
                    ) WITHOUT ROWID;
                    """)
            let members = try Row.fetchAll(
                db, sql: "SELECT program_id, handle, public_key, status, joined_at FROM member ORDER BY joined_at, id")
            for member in members {
                let at = Self.date(member["joined_at"])
                try appendKeyLog(
                    db, programID: member["program_id"], event: .join, handle: member["handle"],
                    publicKey: member["public_key"], now: at)
                if member["status"] as String != MemberStatus.active.rawValue {
                    try appendKeyLog(
                        db, programID: member["program_id"], event: .leave, handle: member["handle"],
                        publicKey: member["public_key"], now: at)
                }
            }
        }
        migrator.registerMigration("v4-scoped-marks") { db in
            // Marks and matches keyed by (program, epoch, token): a token held in another program or epoch is
            // unknown here, so a second membership cannot probe this program's marks. Match rows name their
            // two members in id order, not in the order they marked. Members get a bounded, normalised
            // search column; the key log gets the indexes the rotation rules need.
            try db.execute(
                sql: """
                    CREATE TABLE mark_v4 (
                        program_id INTEGER NOT NULL REFERENCES program(id) ON DELETE CASCADE,
                        epoch INTEGER NOT NULL,
                        token BLOB NOT NULL,
                        member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        tag BLOB NOT NULL,
                        note BLOB,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (program_id, epoch, token)
                    ) WITHOUT ROWID;
                    INSERT INTO mark_v4 SELECT program_id, epoch, token, member_id, tag, note, created_at FROM mark;
                    DROP TABLE mark;
                    ALTER TABLE mark_v4 RENAME TO mark;
                    CREATE INDEX mark_by_member ON mark(member_id, epoch, token);
                    CREATE TABLE match_v4 (
                        program_id INTEGER NOT NULL REFERENCES program(id) ON DELETE CASCADE,
                        epoch INTEGER NOT NULL,
                        token BLOB NOT NULL,
                        a_member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        a_tag BLOB NOT NULL,
                        a_note BLOB,
                        b_member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        b_tag BLOB NOT NULL,
                        b_note BLOB,
                        matched_at INTEGER NOT NULL,
                        PRIMARY KEY (program_id, epoch, token)
                    ) WITHOUT ROWID;
                    INSERT INTO match_v4
                        SELECT program_id, epoch, token,
                               MIN(first_member_id, second_member_id),
                               CASE WHEN first_member_id < second_member_id THEN first_tag ELSE second_tag END,
                               CASE WHEN first_member_id < second_member_id THEN first_note ELSE second_note END,
                               MAX(first_member_id, second_member_id),
                               CASE WHEN first_member_id < second_member_id THEN second_tag ELSE first_tag END,
                               CASE WHEN first_member_id < second_member_id THEN second_note ELSE first_note END,
                               matched_at
                        FROM "match";
                    DROP TABLE "match";
                    ALTER TABLE match_v4 RENAME TO "match";
                    CREATE INDEX match_by_a ON "match"(a_member_id, epoch);
                    CREATE INDEX match_by_b ON "match"(b_member_id, epoch);
                    CREATE INDEX key_log_by_key ON key_log(program_id, public_key);
                    CREATE INDEX key_log_by_handle ON key_log(program_id, handle, event, created_at);
                    ALTER TABLE member ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
                    ALTER TABLE member ADD COLUMN handle_skeleton TEXT NOT NULL DEFAULT '';
                    CREATE INDEX member_by_skeleton ON member(program_id, handle_skeleton);
                    -- Suspended members hold no pending marks from now on; neither do those suspended before.
                    DELETE FROM mark WHERE member_id IN (SELECT id FROM member WHERE status != 'active');
                    """)
            for row in try Row.fetchAll(db, sql: "SELECT id, handle, display_name, headline FROM member") {
                try db.execute(
                    sql: "UPDATE member SET search_text = ?, handle_skeleton = ? WHERE id = ?",
                    arguments: [
                        DirectorySearch.text(row["display_name"], row["headline"]), try Handle(row["handle"]).skeleton,
                        row["id"],
                    ])
            }
        }
        migrator.registerMigration("v5-directory-versions") { db in
            // The directory replica's sync (GET /v1/profiles): each member carries the program's directory
            // version of its last directory change, from a per-program counter that only the writer moves. The
            // server no longer searches (clients search their replica), so the search column and the tag index
            // go. Existing members get versions in join order, under a new random generation.
            try db.execute(
                sql: """
                    CREATE TABLE directory_counter (
                        program_id INTEGER PRIMARY KEY REFERENCES program(id) ON DELETE CASCADE,
                        generation TEXT NOT NULL,
                        version INTEGER NOT NULL
                    );
                    ALTER TABLE member ADD COLUMN directory_version INTEGER NOT NULL DEFAULT 0;
                    DROP INDEX member_tag_by_tag;
                    ALTER TABLE member DROP COLUMN search_text;
                    """)
            for programID in try Int64.fetchAll(db, sql: "SELECT id FROM program") {
                let members = try Int64.fetchAll(
                    db, sql: "SELECT id FROM member WHERE program_id = ? ORDER BY joined_at, id", arguments: [programID]
                )
                for (index, memberID) in members.enumerated() {
                    try db.execute(
                        sql: "UPDATE member SET directory_version = ? WHERE id = ?", arguments: [index + 1, memberID])
                }
                try db.execute(
                    sql: "INSERT INTO directory_counter (program_id, generation, version) VALUES (?, ?, ?)",
                    arguments: [programID, DirectoryCursor.newGeneration(), members.count])
            }
            try db.execute(
                sql: "CREATE UNIQUE INDEX member_by_directory_version ON member(program_id, directory_version)")
        }
        migrator.registerMigration("v6-program-about") { db in
            // The operator's description and code of conduct of a program (ProgramAbout), empty until set.
            try db.execute(
                sql: """
                    ALTER TABLE program ADD COLUMN description TEXT NOT NULL DEFAULT '';
                    ALTER TABLE program ADD COLUMN conduct TEXT NOT NULL DEFAULT '';
                    """)
        }
        migrator.registerMigration("v7-organizers") { db in
            // Organizers (credentials scoped to programs, stored as SHA-256), their grants, revocable invites and
            // each program's audit log of admin actions. Audit ids only grow (AUTOINCREMENT): they are the log's
            // page cursor, and a purge must not let a new entry take an old entry's id.
            try db.execute(
                sql: """
                    ALTER TABLE invite ADD COLUMN revoked_at INTEGER;
                    CREATE TABLE organizer (
                        id INTEGER PRIMARY KEY,
                        name TEXT NOT NULL UNIQUE,
                        credential_digest BLOB NOT NULL UNIQUE,
                        created_at INTEGER NOT NULL
                    );
                    CREATE TABLE organizer_program (
                        organizer_id INTEGER NOT NULL REFERENCES organizer(id) ON DELETE CASCADE,
                        program_id INTEGER NOT NULL REFERENCES program(id) ON DELETE CASCADE,
                        PRIMARY KEY (organizer_id, program_id)
                    ) WITHOUT ROWID;
                    CREATE TABLE audit_entry (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        program_id INTEGER NOT NULL REFERENCES program(id) ON DELETE CASCADE,
                        at INTEGER NOT NULL,
                        actor TEXT NOT NULL,
                        action TEXT NOT NULL,
                        subject TEXT,
                        detail TEXT
                    );
                    CREATE INDEX audit_entry_by_program ON audit_entry(program_id, id);
                    CREATE INDEX audit_entry_by_time ON audit_entry(at);
                    """)
        }
        migrator.registerMigration("v8-conversations") { db in
            // A conversation per match (Specs/openapi.yaml, conversations), created by its first message or its
            // end, keyed as the match is; it goes when the match goes (housekeeping). Its messages are opaque
            // envelopes with a sequence number the server assigns; ending a conversation deletes them (and
            // `secure_delete` with the WAL scrub leaves no copy) but keeps the counters and `ended_at`.
            try db.execute(
                sql: """
                    CREATE TABLE conversation (
                        program_id INTEGER NOT NULL REFERENCES program(id) ON DELETE CASCADE,
                        epoch INTEGER NOT NULL,
                        token BLOB NOT NULL,
                        a_member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        b_member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        last_seq INTEGER NOT NULL DEFAULT 0,
                        message_count INTEGER NOT NULL DEFAULT 0,
                        stored_bytes INTEGER NOT NULL DEFAULT 0,
                        last_sent_at INTEGER,
                        ended_at INTEGER,
                        PRIMARY KEY (program_id, epoch, token)
                    ) WITHOUT ROWID;
                    CREATE TABLE message (
                        program_id INTEGER NOT NULL,
                        epoch INTEGER NOT NULL,
                        token BLOB NOT NULL,
                        seq INTEGER NOT NULL,
                        sender_id INTEGER NOT NULL,
                        envelope BLOB NOT NULL,
                        sent_at INTEGER NOT NULL,
                        PRIMARY KEY (program_id, epoch, token, seq),
                        FOREIGN KEY (program_id, epoch, token)
                            REFERENCES conversation(program_id, epoch, token) ON DELETE CASCADE
                    );
                    """)
        }
        migrator.registerMigration("v9-reports") { db in
            // A member's report of the other member of a conversation, for the operator: one per member per
            // conversation (a new one replaces it), kept when the match is purged.
            try db.execute(
                sql: """
                    CREATE TABLE report (
                        program_id INTEGER NOT NULL REFERENCES program(id) ON DELETE CASCADE,
                        epoch INTEGER NOT NULL,
                        token BLOB NOT NULL,
                        reporter_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        reported_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        reason TEXT NOT NULL,
                        messages TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (program_id, epoch, token, reporter_id)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v10-notices") { db in
            // Email notices (ReciprocityStore's Notices.swift): the member's own address on their row; the
            // queue, whose rows hold no address; and which of a member's matches had its notice queued.
            try db.execute(
                sql: """
                    ALTER TABLE member ADD COLUMN email TEXT;
                    CREATE INDEX member_with_email ON member(id) WHERE email IS NOT NULL;
                    CREATE TABLE notice (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        program_id INTEGER NOT NULL REFERENCES program(id) ON DELETE CASCADE,
                        kind TEXT NOT NULL,
                        state TEXT NOT NULL DEFAULT 'queued',
                        due_at INTEGER NOT NULL,
                        claimed_at INTEGER,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        created_at INTEGER NOT NULL,
                        sent_at INTEGER
                    );
                    CREATE INDEX notice_by_state ON notice(state, due_at);
                    CREATE INDEX notice_by_member ON notice(member_id);
                    CREATE TABLE match_notice (
                        program_id INTEGER NOT NULL,
                        epoch INTEGER NOT NULL,
                        token BLOB NOT NULL,
                        member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        noticed_at INTEGER NOT NULL,
                        PRIMARY KEY (program_id, epoch, token, member_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX match_notice_by_time ON match_notice(noticed_at);
                    CREATE TABLE conversation_notice (
                        program_id INTEGER NOT NULL,
                        epoch INTEGER NOT NULL,
                        token BLOB NOT NULL,
                        member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,
                        noticed_at INTEGER NOT NULL,
                        last_seq INTEGER NOT NULL,
                        PRIMARY KEY (program_id, epoch, token, member_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX conversation_notice_by_time ON conversation_notice(noticed_at);
                    """)
        }
        migrator.registerMigration("v11-scheduled-rounds") { db in
            // A scheduled round: when the program moves to its next epoch by itself, who scheduled it (the
            // actor of the audit entry then), and the epoch whose closing notice was queued (one per round).
            try db.execute(
                sql: """
                    ALTER TABLE program ADD COLUMN next_round_at INTEGER;
                    ALTER TABLE program ADD COLUMN next_round_by TEXT;
                    ALTER TABLE program ADD COLUMN round_noticed_epoch INTEGER;
                    """)
        }
        migrator.registerMigration("v12-side-channels") { db in
            // Each program's audit log numbers its own entries (`seq`, from the program's counter in its own
            // table `audit_counter`, not a program column: on PostgreSQL an audited action would otherwise lock
            // the program row that every mark submission shares), so that its page cursor counts nothing of
            // another program's; existing entries are numbered in id order. A notice's Message-ID is a random
            // value given at its first claim and kept for its resends.
            try db.execute(
                sql: """
                    CREATE TABLE audit_counter (
                        program_id INTEGER PRIMARY KEY REFERENCES program(id) ON DELETE CASCADE,
                        seq INTEGER NOT NULL
                    );
                    ALTER TABLE audit_entry ADD COLUMN seq INTEGER;
                    UPDATE audit_entry SET seq = numbered.seq FROM (
                        SELECT id, row_number() OVER (PARTITION BY program_id ORDER BY id) AS seq FROM audit_entry
                    ) AS numbered WHERE numbered.id = audit_entry.id;
                    INSERT INTO audit_counter (program_id, seq)
                        SELECT program_id, MAX(seq) FROM audit_entry GROUP BY program_id;
                    CREATE UNIQUE INDEX audit_entry_by_program_seq ON audit_entry(program_id, seq);
                    ALTER TABLE notice ADD COLUMN message_id TEXT;
                    """)
        }
        return migrator
    }
}
