"""Drives a scrolldb server with the DataStax Python driver (cassandra-driver from PyPI),
default settings: protocol negotiation from v5 down to v4, schema metadata on, token-aware
routing. Run by server/tests/server_drivers.rs as: python python_driver.py HOST PORT.
Exits non-zero with a message on the first thing that is not as Cassandra would answer."""

import sys
import uuid

from cassandra import InvalidRequest, AlreadyExists
from cassandra.cluster import Cluster
from cassandra.query import BatchStatement, SimpleStatement

ROWS = 10000


def check(cond, what):
    if not cond:
        print("FAILED: " + what, file=sys.stderr)
        sys.exit(1)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    cluster = Cluster([host], port=port)
    session = cluster.connect()
    check(cluster.protocol_version == 4, "negotiated protocol v4, got %s" % cluster.protocol_version)

    local = session.execute("SELECT * FROM system.local WHERE key = 'local'").one()
    check(local.release_version == "3.0.8", "release_version")

    session.execute(
        "CREATE KEYSPACE IF NOT EXISTS pydrv WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    try:
        session.execute(
            "CREATE KEYSPACE pydrv WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"
        )
        check(False, "creating an existing keyspace must fail")
    except AlreadyExists:
        pass
    session.set_keyspace("pydrv")
    session.execute(
        "CREATE TABLE IF NOT EXISTS messages (channel_id bigint, bucket int, message_id bigint, "
        "author_id bigint, content text, PRIMARY KEY ((channel_id, bucket), message_id)) "
        "WITH CLUSTERING ORDER BY (message_id DESC)"
    )
    check(cluster.control_connection.wait_for_schema_agreement(), "schema agreement")

    # The driver's schema metadata sees the table and its reversed clustering order.
    cluster.refresh_schema_metadata()
    table = cluster.metadata.keyspaces["pydrv"].tables["messages"]
    check([c.name for c in table.partition_key] == ["channel_id", "bucket"], "partition key metadata")
    check([c.name for c in table.clustering_key] == ["message_id"], "clustering key metadata")
    check(table.clustering_key[0].is_reversed, "clustering order DESC in metadata")
    check("CLUSTERING ORDER BY (message_id DESC)" in table.export_as_string(), "export_as_string")

    insert = session.prepare(
        "INSERT INTO messages (channel_id, bucket, message_id, author_id, content) VALUES (?, ?, ?, ?, ?)"
    )
    futures = [session.execute_async(insert, (1, 0, i, 42, "message %d" % i)) for i in range(ROWS)]
    for f in futures:
        f.result()

    select = session.prepare("SELECT message_id, content FROM messages WHERE channel_id = ? AND bucket = ? LIMIT 50")
    newest = list(session.execute(select, (1, 0)))
    check(len(newest) == 50, "LIMIT 50 returned %d rows" % len(newest))
    check([r.message_id for r in newest] == list(range(ROWS - 1, ROWS - 51, -1)), "newest first")
    check(newest[0].content == "message %d" % (ROWS - 1), "content")

    # Paging through every row of the partition, 500 at a time.
    stmt = SimpleStatement("SELECT message_id FROM messages WHERE channel_id = 1 AND bucket = 0", fetch_size=500)
    ids = [r.message_id for r in session.execute(stmt)]
    check(ids == list(range(ROWS - 1, -1, -1)), "paged %d rows, expected %d" % (len(ids), ROWS))

    # Reverse of the clustering order.
    oldest = list(session.execute(
        "SELECT message_id FROM messages WHERE channel_id = 1 AND bucket = 0 ORDER BY message_id ASC LIMIT 3"))
    check([r.message_id for r in oldest] == [0, 1, 2], "ORDER BY ASC")

    batch = BatchStatement()
    batch.add(insert, (2, 0, 1, 7, "in a batch"))
    batch.add(insert, (2, 0, 2, 7, "also in a batch"))
    session.execute(batch)
    count = session.execute("SELECT COUNT(*) FROM messages WHERE channel_id = 2 AND bucket = 0").one()[0]
    check(count == 2, "batch wrote %d rows" % count)

    try:
        session.execute("SELECT * FROM no_such_table")
        check(False, "selecting from a missing table must fail")
    except InvalidRequest:
        pass

    session.execute("DROP TABLE messages")
    session.execute("DROP KEYSPACE pydrv")
    cluster.shutdown()
    print("python driver: OK")


if __name__ == "__main__":
    main()
