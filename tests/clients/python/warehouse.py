"""The metric query outside Vexil, for cli/tests/analytics.rs.

    warehouse.py parse DIALECT QUERY.sql
        parses the query with sqlglot in that dialect (an independent
        parser); exit 1 with its error if it does not parse as exactly one
        statement.
    warehouse.py duckdb QUERY.sql EVENTS.jsonl [--mapped]
        loads the JSON Lines events into DuckDB (Vexil's own tables, or with
        --mapped a team's tables: the shape tests/fixtures/warehouse.toml
        describes, times as TIMESTAMPs), runs the query, and prints its rows
        as CSV with a header.
    warehouse.py sqlite QUERY.sql STORE.db
        runs the query on an SQLite event store with Python's own SQLite
        (MOD registered as the store does) and prints the rows as CSV.
    warehouse.py spark EVENTS.jsonl OWN.sql MAPPED.sql OWN.csv MAPPED.csv
        loads the events into Spark SQL (pyspark, local, on loopback: what
        Databricks runs) as Vexil's own tables and as a team's (the shape
        of --mapped above, in a database `analytics`), runs each query on
        its tables and writes the rows as CSV: one JVM for both.
"""

import csv
import sys


def parse(dialect, path):
    import sqlglot
    from sqlglot.errors import ErrorLevel

    text = open(path, encoding="utf-8").read()
    statements = [s for s in sqlglot.parse(text, read=dialect, error_level=ErrorLevel.RAISE) if s is not None]
    if len(statements) != 1:
        sys.exit(f"{len(statements)} statements, expected one")
    if statements[0].key != "select":
        sys.exit(f"parsed as {statements[0].key}, not a SELECT")


def write_rows(names, rows, stream=None):
    out = csv.writer(stream or sys.stdout, lineterminator="\n")
    out.writerow(names)
    for row in rows:
        out.writerow(["" if v is None else repr(v) if isinstance(v, float) else v for v in row])


def duckdb_rows(query_path, events_path, mapped):
    import duckdb

    con = duckdb.connect()
    source = (
        "read_json(?, format = 'newline_delimited', columns = {"
        "type: 'VARCHAR', experiment: 'VARCHAR', variant: 'VARCHAR', event: 'VARCHAR', "
        "unit: 'VARCHAR', time: 'BIGINT', value: 'DOUBLE'})"
    )
    con.execute(f"CREATE TABLE raw AS SELECT * FROM {source}", [events_path])
    if mapped:
        # A team's own shape: other names, a schema, timestamps, and
        # events without values stored as NULL.
        con.execute("CREATE SCHEMA analytics")
        con.execute(
            "CREATE TABLE analytics.assignments AS SELECT unit AS user_id, experiment AS experiment_key, "
            "variant AS arm, make_timestamp(time) AS assigned_at FROM raw WHERE type = 'exposure'"
        )
        con.execute(
            'CREATE TABLE analytics.tracks AS SELECT unit AS user_id, event AS "Event Name", '
            "value AS amount, make_timestamp(time) AS occurred_at FROM raw WHERE type = 'track'"
        )
    else:
        con.execute(
            "CREATE TABLE exposures AS SELECT experiment, unit, time, variant FROM raw WHERE type = 'exposure'"
        )
        con.execute(
            "CREATE TABLE events AS SELECT unit, event, time, COALESCE(value, 1) AS value "
            "FROM raw WHERE type = 'track'"
        )
    result = con.execute(open(query_path, encoding="utf-8").read())
    names = [d[0] for d in result.description]
    write_rows(names, result.fetchall())


def sqlite_rows(query_path, store_path):
    import sqlite3

    con = sqlite3.connect(store_path)
    def mod(a, b):
        # The sign follows the dividend, as the store's MOD (and PostgreSQL's).
        if a is None or b is None or b == 0:
            return None
        r = abs(int(a)) % abs(int(b))
        return r if a >= 0 else -r

    con.create_function("MOD", 2, mod, deterministic=True)
    result = con.execute(open(query_path, encoding="utf-8").read())
    names = [d[0] for d in result.description]
    write_rows(names, result.fetchall())


def spark_rows(events_path, own_sql, mapped_sql, own_csv, mapped_csv):
    import tempfile

    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[1]")
        .appName("vexil-warehouse-test")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="vexil-spark-"))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    raw = spark.read.schema(
        "type STRING, experiment STRING, variant STRING, event STRING, unit STRING, time BIGINT, value DOUBLE"
    ).json(events_path)
    raw.createOrReplaceTempView("raw")
    spark.sql("CREATE OR REPLACE TEMP VIEW exposures AS SELECT experiment, unit, time, variant FROM raw WHERE type = 'exposure'")
    spark.sql(
        "CREATE OR REPLACE TEMP VIEW events AS SELECT unit, event, time, COALESCE(value, 1) AS value FROM raw WHERE type = 'track'"
    )
    # A team's own shape, as --mapped: other names, a database, timestamps,
    # a column name with a space, events without values as NULL.
    spark.sql("CREATE DATABASE analytics")
    spark.sql(
        "CREATE TABLE analytics.assignments USING json AS SELECT unit AS user_id, experiment AS experiment_key, "
        "variant AS arm, timestamp_micros(time) AS assigned_at FROM raw WHERE type = 'exposure'"
    )
    spark.sql(
        "CREATE TABLE analytics.tracks USING json AS SELECT unit AS user_id, event AS `Event Name`, "
        "value AS amount, timestamp_micros(time) AS occurred_at FROM raw WHERE type = 'track'"
    )
    for query_path, out_path in ((own_sql, own_csv), (mapped_sql, mapped_csv)):
        text = open(query_path, encoding="utf-8").read()
        # The printed text: comment lines, then one statement.
        query = "\n".join(l for l in text.splitlines() if not l.startswith("--")).strip().rstrip(";")
        result = spark.sql(query)
        rows = [tuple(r) for r in result.collect()]
        with open(out_path, "w", encoding="utf-8") as out:
            write_rows(result.columns, rows, out)
    spark.stop()


def main(args):
    if len(args) == 3 and args[0] == "parse":
        parse(args[1], args[2])
    elif len(args) in (3, 4) and args[0] == "duckdb":
        duckdb_rows(args[1], args[2], args[3:] == ["--mapped"])
    elif len(args) == 3 and args[0] == "sqlite":
        sqlite_rows(args[1], args[2])
    elif len(args) == 6 and args[0] == "spark":
        spark_rows(*args[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
