//! Immutable sorted tables on disk. (Being written.)
