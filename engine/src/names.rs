//! Names for runs created without one, in MLflow's `adjective-noun-number` style.

const ADJECTIVES: &[&str] = &[
    "able", "agile", "amber", "ample", "bold", "brave", "bright", "brisk", "calm", "clever",
    "cosmic", "crisp", "dapper", "daring", "eager", "fancy", "fierce", "gentle", "glad", "golden",
    "grand", "happy", "honest", "humble", "jolly", "keen", "kind", "lively", "loyal", "lucky",
    "merry", "mighty", "nimble", "noble", "polite", "proud", "quick", "quiet", "rapid", "rare",
    "silent", "sleek", "smart", "steady", "sunny", "swift", "tidy", "vast", "vivid", "witty",
];

const NOUNS: &[&str] = &[
    "ant", "bass", "bear", "bee", "bird", "cat", "colt", "crab", "crane", "deer", "dog", "dove",
    "duck", "eel", "elk", "finch", "fish", "fox", "frog", "goat", "gull", "hare", "hawk", "hen",
    "horse", "jay", "koala", "lark", "lion", "lynx", "mole", "moth", "mouse", "newt", "owl", "ox",
    "panda", "pig", "quail", "ram", "seal", "shark", "sheep", "slug", "snail", "squid", "stork",
    "swan", "toad", "wasp", "whale", "wolf", "worm", "yak", "zebra",
];

/// A random name such as `brave-owl-417`.
pub(crate) fn random_run_name() -> String {
    let mut b = [0u8; 8];
    // Randomness only picks a friendly name; fall back to the clock if the OS refuses.
    let r = match getrandom::fill(&mut b) {
        Ok(()) => u64::from_le_bytes(b),
        Err(_) => crate::store::now_ms().unsigned_abs(),
    };
    let adjective = ADJECTIVES[(r % ADJECTIVES.len() as u64) as usize];
    let noun = NOUNS[((r >> 16) % NOUNS.len() as u64) as usize];
    let number = (r >> 32) % 1000;
    format!("{adjective}-{noun}-{number}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_have_three_parts() {
        let name = super::random_run_name();
        let parts: Vec<&str> = name.split('-').collect();
        assert_eq!(parts.len(), 3, "{name}");
        assert!(parts[2].parse::<u32>().unwrap() < 1000);
    }
}
