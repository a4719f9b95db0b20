//! DDL on a running database: compute the next catalog (`catalog::ddl`), persist it, push
//! table options or drops to every shard, then publish the new snapshot.
//!
//! DDL statements are serialized by the catalog mutex. The new catalog is stored before
//! the shards drop any data, so a crash in between leaves a table absent from the catalog
//! whose files the next open ignores (and the next compaction of nothing never revives).

use super::{table_options, Db};
use crate::catalog::store::{self, StoredCatalog};
use crate::catalog::{ddl, KeyspaceDef, TableSchema};
use crate::error::{Error, Result};
use crate::shard::Request;
use std::sync::Arc;

impl Db {
    /// Creates a keyspace. `Ok(false)` when it exists and `if_not_exists` is set.
    pub fn create_keyspace(&self, def: KeyspaceDef, if_not_exists: bool) -> Result<bool> {
        self.check_open()?;
        let mut current = self.inner.ddl.lock();
        let Some(next) = ddl::create_keyspace(&current, def, if_not_exists)? else {
            return Ok(false);
        };
        self.publish(&mut current, next)?;
        Ok(true)
    }

    /// Drops a keyspace and the data of all its tables.
    pub fn drop_keyspace(&self, name: &str, if_exists: bool) -> Result<bool> {
        self.check_open()?;
        let mut current = self.inner.ddl.lock();
        let Some((next, dropped)) = ddl::drop_keyspace(&current, name, if_exists)? else {
            return Ok(false);
        };
        self.publish(&mut current, next)?;
        self.on_every_shard(|_| {
            let tables = dropped.clone();
            move |reply| Request::DropTables { tables, reply }
        })?;
        Ok(true)
    }

    /// Creates a table. The caller fills `columns` (partition key, clustering and regular
    /// columns, in any order; ids are ignored) and `params`; the catalog assigns `id`,
    /// `uuid` and column ids and sorts the columns into the documented order. Returns
    /// `Ok(false)` when it exists and `if_not_exists` is set.
    pub fn create_table(&self, schema: TableSchema, if_not_exists: bool) -> Result<bool> {
        self.check_open()?;
        let mut current = self.inner.ddl.lock();
        let Some((next, table)) = ddl::create_table(&current, schema, if_not_exists)? else {
            return Ok(false);
        };
        // Options reach the shards before any write to the table can.
        let (id, options) = (table.id, table_options(&table.params));
        self.on_every_shard(|_| {
            move |reply| Request::SetTableOptions {
                tables: vec![(id, options)],
                reply,
            }
        })?;
        self.publish(&mut current, next)?;
        Ok(true)
    }

    /// Drops a table and removes its data files.
    pub fn drop_table(&self, keyspace: &str, name: &str, if_exists: bool) -> Result<bool> {
        self.check_open()?;
        let mut current = self.inner.ddl.lock();
        let Some((next, id)) = ddl::drop_table(&current, keyspace, name, if_exists)? else {
            return Ok(false);
        };
        self.publish(&mut current, next)?;
        self.on_every_shard(|_| {
            move |reply| Request::DropTables {
                tables: vec![id],
                reply,
            }
        })?;
        Ok(true)
    }

    /// Removes every row of a table, keeping the table.
    pub fn truncate(&self, keyspace: &str, name: &str) -> Result<()> {
        self.check_open()?;
        // Held so the table cannot be dropped or recreated meanwhile.
        let current = self.inner.ddl.lock();
        let table = current
            .catalog
            .table(keyspace, name)
            .ok_or_else(|| Error::NotFound(format!("table {keyspace}.{name}")))?;
        let (id, options) = (table.id, table_options(&table.params));
        self.on_every_shard(|_| {
            move |reply| Request::Truncate {
                table: id,
                options,
                reply,
            }
        })
    }

    /// Persists `next`, then makes it the snapshot readers see.
    fn publish(&self, current: &mut StoredCatalog, next: StoredCatalog) -> Result<()> {
        store::store(self.dir(), &next)?;
        *self.inner.catalog.write() = Arc::new(next.catalog.clone());
        self.inner
            .catalog_generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        *current = next;
        // After the switch, so that a refused mirror copy never leaves memory and disk apart.
        self.mirror_catalog()
    }
}
