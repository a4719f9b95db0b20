//! CQL value types and their key encodings. (Being written.)
