"""Per-person daily totals of the ledger, kept by the database (README
"Instant boards").

Every ledger line carries its team (copied from its repository); triggers add
each line to its (login, team, UTC day) total as it is written, move it when a
line's team, day or points change (a repository moving to another team moves
its lines), and take it away when a line is deleted, all in the writing
transaction. PostgreSQL in production and tests, SQLite for ``make run``.
"""

from django.db import migrations, models
import django.db.models.deletion

SESSION = "(SELECT key FROM rewards_pointsrule WHERE id = {row}.rule_id) = 'review_session' AND {row}.points > 0"

POSTGRES = f"""
CREATE OR REPLACE FUNCTION rewards_points_day_add(
    identity bigint, team bigint, moment timestamptz, amount integer, session integer
) RETURNS void AS $$
DECLARE
    on_day date := (moment AT TIME ZONE 'UTC')::date;
BEGIN
    IF team IS NULL THEN
        -- No unique key holds NULL: add to one row, or start one.
        UPDATE rewards_pointsday SET points = points + amount, sessions = sessions + session
         WHERE ctid = (SELECT ctid FROM rewards_pointsday
                        WHERE identity_id = identity AND organization_id IS NULL
                          AND day = on_day LIMIT 1);
        IF NOT FOUND THEN
            INSERT INTO rewards_pointsday (identity_id, organization_id, day, points, sessions)
            VALUES (identity, NULL, on_day, amount, session);
        END IF;
    ELSE
        INSERT INTO rewards_pointsday (identity_id, organization_id, day, points, sessions)
        VALUES (identity, team, on_day, amount, session)
        ON CONFLICT (identity_id, organization_id, day) DO UPDATE
           SET points = rewards_pointsday.points + EXCLUDED.points,
               sessions = rewards_pointsday.sessions + EXCLUDED.sessions;
    END IF;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION rewards_points_day_follow() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE rewards_pointsday
           SET points = points - OLD.points,
               sessions = sessions - (CASE WHEN {SESSION.format(row="OLD")} THEN 1 ELSE 0 END)
         WHERE ctid = (SELECT ctid FROM rewards_pointsday
                        WHERE identity_id = OLD.identity_id
                          AND organization_id IS NOT DISTINCT FROM OLD.organization_id
                          AND day = (OLD.earned_at AT TIME ZONE 'UTC')::date LIMIT 1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM rewards_points_day_add(
            NEW.identity_id, NEW.organization_id, NEW.earned_at, NEW.points,
            CASE WHEN {SESSION.format(row="NEW")} THEN 1 ELSE 0 END);
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER rewards_points_day_follow
AFTER INSERT OR DELETE OR UPDATE OF identity_id, organization_id, earned_at, points, rule_id
ON rewards_pointsentry FOR EACH ROW EXECUTE FUNCTION rewards_points_day_follow();

CREATE OR REPLACE FUNCTION rewards_repository_team_follow() RETURNS trigger AS $$
BEGIN
    UPDATE rewards_pointsentry SET organization_id = NEW.organization_id
     WHERE repository_id = NEW.id
       AND organization_id IS DISTINCT FROM NEW.organization_id;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER rewards_repository_team_follow
AFTER UPDATE OF organization_id ON integrations_connectedrepository
FOR EACH ROW WHEN (OLD.organization_id IS DISTINCT FROM NEW.organization_id)
EXECUTE FUNCTION rewards_repository_team_follow();
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS rewards_repository_team_follow ON integrations_connectedrepository;
DROP FUNCTION IF EXISTS rewards_repository_team_follow();
DROP TRIGGER IF EXISTS rewards_points_day_follow ON rewards_pointsentry;
DROP FUNCTION IF EXISTS rewards_points_day_follow();
DROP FUNCTION IF EXISTS rewards_points_day_add(bigint, bigint, timestamptz, integer, integer);
"""

SQLITE_ADD = """
INSERT INTO rewards_pointsday (identity_id, organization_id, day, points, sessions)
VALUES (NEW.identity_id, NEW.organization_id, date(NEW.earned_at), NEW.points,
        CASE WHEN {session} THEN 1 ELSE 0 END)
ON CONFLICT (identity_id, organization_id, day) DO UPDATE
   SET points = points + excluded.points, sessions = sessions + excluded.sessions;
""".format(session=SESSION.format(row="NEW"))

SQLITE_TAKE = """
UPDATE rewards_pointsday
   SET points = points - OLD.points,
       sessions = sessions - (CASE WHEN {session} THEN 1 ELSE 0 END)
 WHERE rowid = (SELECT rowid FROM rewards_pointsday
                 WHERE identity_id = OLD.identity_id
                   AND organization_id IS OLD.organization_id
                   AND day = date(OLD.earned_at) LIMIT 1);
""".format(session=SESSION.format(row="OLD"))

SQLITE = [
    f"CREATE TRIGGER rewards_points_day_insert AFTER INSERT ON rewards_pointsentry BEGIN {SQLITE_ADD} END",
    f"CREATE TRIGGER rewards_points_day_delete AFTER DELETE ON rewards_pointsentry BEGIN {SQLITE_TAKE} END",
    "CREATE TRIGGER rewards_points_day_update AFTER UPDATE OF identity_id, organization_id, earned_at, points, rule_id "
    f"ON rewards_pointsentry BEGIN {SQLITE_TAKE} {SQLITE_ADD} END",
    "CREATE TRIGGER rewards_repository_team_follow AFTER UPDATE OF organization_id ON integrations_connectedrepository "
    "WHEN OLD.organization_id IS NOT NEW.organization_id BEGIN "
    "UPDATE rewards_pointsentry SET organization_id = NEW.organization_id "
    "WHERE repository_id = NEW.id AND organization_id IS NOT NEW.organization_id; END",
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS rewards_points_day_insert",
    "DROP TRIGGER IF EXISTS rewards_points_day_delete",
    "DROP TRIGGER IF EXISTS rewards_points_day_update",
    "DROP TRIGGER IF EXISTS rewards_repository_team_follow",
]

BACKFILL_TEAMS = """
UPDATE rewards_pointsentry SET organization_id = (
    SELECT organization_id FROM integrations_connectedrepository
     WHERE integrations_connectedrepository.id = rewards_pointsentry.repository_id)
 WHERE repository_id IS NOT NULL
"""


def totals_sql(vendor: str) -> str:
    day = (
        "(earned_at AT TIME ZONE 'UTC')::date"
        if vendor == "postgresql"
        else "date(earned_at)"
    )
    session = SESSION.format(row="rewards_pointsentry")
    return f"""
INSERT INTO rewards_pointsday (identity_id, organization_id, day, points, sessions)
SELECT identity_id, organization_id, {day}, SUM(points),
       SUM(CASE WHEN {session} THEN 1 ELSE 0 END)
  FROM rewards_pointsentry GROUP BY identity_id, organization_id, {day}
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(BACKFILL_TEAMS)
        cursor.execute("DELETE FROM rewards_pointsday")
        cursor.execute(totals_sql(vendor))
        if vendor == "postgresql":
            cursor.execute(POSTGRES)
        elif vendor == "sqlite":
            for statement in SQLITE:
                cursor.execute(statement)


def backwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute(POSTGRES_DROP)
        elif schema_editor.connection.vendor == "sqlite":
            for statement in SQLITE_DROP:
                cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0019_team_leaderboard"),
        ("reviews", "0018_pull_ready_at"),
        ("rewards", "0012_reciprocal_exchanges"),
    ]

    operations = [
        migrations.CreateModel(
            name="PointsDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("points", models.IntegerField(default=0)),
                ("sessions", models.IntegerField(default=0, help_text="Review session lines that paid (for boards).")),
                ("identity", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="reviews.provideridentity")),
                ("organization", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="integrations.organization")),
            ],
            options={
                "indexes": [models.Index(fields=["organization", "day"], name="points_day_team_idx")],
                "constraints": [models.UniqueConstraint(fields=("identity", "organization", "day"), name="one_total_per_day")],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
