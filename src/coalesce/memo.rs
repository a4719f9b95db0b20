//! What a flight's subscribers build from its result, built once and shared.
//!
//! Every copy of a hot request gets the same storage rows from its flight, and copies of the
//! same statement turn them into the same CQL rows. Without a memo each copy builds (and the
//! server encodes) its own; with it the first copy builds and the others take a reference.
//! The memo lives in the flight's [`Landed`](super::Landed) result, which only the requests
//! that joined that flight can reach, so sharing never serves a result to a read that started
//! after the flight landed: freshness stays exactly what coalescing gives.
//!
//! Entries are found by a caller-supplied key that must hold everything besides the flight's
//! rows that determines the value (projection, page size, limits). A flight keeps at most
//! [`MAX_ENTRIES`]; past that, values are built per request and not kept.

use parking_lot::Mutex;
use std::any::Any;
use std::sync::Arc;

/// Values one flight keeps: different projections or page sizes of one hot read.
pub const MAX_ENTRIES: usize = 8;

type Entry = (Box<dyn Any + Send + Sync>, Arc<dyn Any + Send + Sync>);

#[derive(Default)]
pub struct Memo {
    entries: Mutex<Vec<Entry>>,
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo")
            .field("entries", &self.entries.lock().len())
            .finish()
    }
}

impl Memo {
    /// The value kept under a key for which `matches` holds, else the one `build` makes
    /// (kept under `key()` when there is room). `build` runs without the lock held: two
    /// copies that miss at once both build, and both get the value kept first, so every
    /// copy of a flight sees the very same value.
    pub fn get_or_build<K, V, E>(
        &self,
        matches: impl Fn(&K) -> bool,
        key: impl FnOnce() -> K,
        build: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E>
    where
        K: Any + Send + Sync,
        V: Any + Send + Sync,
    {
        if let Some(v) = self.find(&matches) {
            return Ok(v);
        }
        let value = Arc::new(build()?);
        let mut entries = self.entries.lock();
        if let Some(v) = find_in(&entries, &matches) {
            return Ok(v);
        }
        if entries.len() < MAX_ENTRIES {
            let shared: Arc<dyn Any + Send + Sync> = value.clone();
            entries.push((Box::new(key()), shared));
        }
        Ok(value)
    }

    fn find<K: Any, V: Any + Send + Sync>(&self, matches: &impl Fn(&K) -> bool) -> Option<Arc<V>> {
        find_in(&self.entries.lock(), matches)
    }

    /// Values kept (for tests and metrics).
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn find_in<K: Any, V: Any + Send + Sync>(
    entries: &[Entry],
    matches: &impl Fn(&K) -> bool,
) -> Option<Arc<V>> {
    entries.iter().find_map(|(k, v)| {
        let k = k.downcast_ref::<K>()?;
        if !matches(k) {
            return None;
        }
        Arc::clone(v).downcast::<V>().ok()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_share_one_value_and_others_do_not() {
        let memo = Memo::default();
        let mut builds = 0;
        let mut get = |k: u32| {
            memo.get_or_build::<u32, String, ()>(
                |x| *x == k,
                || k,
                || {
                    builds += 1;
                    Ok(format!("v{k}"))
                },
            )
            .unwrap()
        };
        let a = get(1);
        let b = get(1);
        let c = get(2);
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(*c, "v2");
        assert_eq!(builds, 2);
    }

    #[test]
    fn a_full_memo_still_answers_and_errors_are_not_kept() {
        let memo = Memo::default();
        for k in 0..MAX_ENTRIES as u32 + 3 {
            let v = memo
                .get_or_build::<u32, u32, ()>(|x| *x == k, || k, || Ok(k * 10))
                .unwrap();
            assert_eq!(*v, k * 10);
        }
        assert_eq!(memo.len(), MAX_ENTRIES);
        let e = memo.get_or_build::<u32, u32, &str>(|x| *x == 99, || 99, || Err("no"));
        assert_eq!(e.unwrap_err(), "no");
        assert_eq!(memo.len(), MAX_ENTRIES);
    }
}
