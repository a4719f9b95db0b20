//! The commitlog: CRC-framed segment files, replayed on open. (Being written.)
