//! The read path: merging a partition's sources and answering a read from the result.

pub mod merge;
pub mod partition;

pub use merge::{Deletions, MergedRows, PartitionSource};
pub use partition::{read_partition, TombstoneThresholds};
