//! The read path: merging a partition's sources and answering a read from the result.

mod key_order;
pub mod merge;
pub mod partition;
pub(crate) mod prefetch;
pub mod source;

pub use merge::{Deletions, Merged, MergedRows, PartitionSource};
pub use partition::{read_partition, TombstoneThresholds};
pub use source::{HeadInfo, SourceRows};
