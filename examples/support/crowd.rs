//! Many naras at once for the examples that play a crowd: native souls from one
//! made-up machine, so a run's naras are the same from one run to the next.

use nara::{Fingerprint, Identity, Soul, SoulSource};

/// `count` naras named by `name_of`, their souls from the machine called `machine`.
pub fn native(machine: &str, count: usize, name_of: impl Fn(usize) -> String) -> Vec<Identity> {
    let fingerprint = Fingerprint::of(machine, &[]);
    (0..count)
        .map(|i| {
            let name = name_of(i);
            Identity::new(&Soul::native(&fingerprint, &name), &name, SoulSource::Native)
        })
        .collect()
}
