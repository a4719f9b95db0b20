//! The data model the engine stores: cells, rows, tombstones of every kind, mutations and
//! read requests. Values are opaque bytes here; their CQL types live in `crate::types`.

pub mod cell;
pub mod clustering;
pub mod deletion;
pub mod mutation;
pub mod partition;
pub mod query;
pub mod row;

pub use cell::{Cell, CellValue, LocalSecs, Timestamp};
pub use clustering::{cmp_prefix, Bound, ClusteringKey, Slice};
pub use deletion::DeletionTime;
pub use mutation::{Mutation, RangeTombstone, TableId};
pub use partition::DecoratedKey;
pub use query::{ColumnFilter, Direction, ReadQuery, ReadResult, ReadStats};
pub use row::{ColumnId, Row};
