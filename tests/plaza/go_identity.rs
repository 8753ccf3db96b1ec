//! The same soul and name give the same ID and keys as in the Go nara. The first case
//! is the Go repository's own test fixture (`testSoul("test-nara")`, its soul, ID and
//! public key); the others follow the same derivations (HMAC bond tag, Ed25519 from
//! the seed, SHA-256 ID, HKDF native soul, SHA-256 fingerprint) for other inputs. Each
//! was computed independently of this code and then confirmed by running the Go nara's
//! own `identity` package (Go 1.19) on the same inputs.

use nara::{Fingerprint, Identity, Soul, SoulSource};
use sha2::{Digest, Sha256};

/// The Go tests' `testSoul(name)`: a native soul whose fingerprint is SHA-256 of
/// `test-hardware-NAME`.
fn test_soul(name: &str) -> Soul {
    let fingerprint = Fingerprint(Sha256::digest(format!("test-hardware-{name}")).into());
    Soul::native(&fingerprint, name)
}

fn assert_identity(soul: &Soul, name: &str, text: &str, id: &str, public_key: &str) {
    assert_eq!(soul.to_base58(), text, "the soul of {name}");
    let identity = Identity::new(soul, name, SoulSource::Flag);
    assert_eq!(identity.id, id, "the ID of {name}");
    assert_eq!(identity.public_key, public_key, "the public key of {name}");
    assert!(identity.bonded, "{name}'s soul is bonded to it");
    // The text form parses back to the same identity.
    let parsed = Identity::new(&Soul::parse(text).expect("parses"), name, SoulSource::Flag);
    assert_eq!((parsed.id, parsed.public_key), (identity.id, identity.public_key));
}

#[test]
fn the_go_fixture_soul_gives_the_go_id_and_key() {
    assert_identity(
        &test_soul("test-nara"),
        "test-nara",
        "C8GnyXApZYSStetZTdEqvb4ZqBvqG9Ez1QF5jtb2PmpFMxkLrWQXJf2",
        "GZfbdZZsjKdUsG5adTRA48FSUCGgTDPZBefXHJtB7hKz",
        "2YN8QzQNg4J7fTmwD0okZcw2GaOkiPfSCrvAMTnVsDA=",
    );
}

#[test]
fn other_test_souls_derive_the_same_way() {
    for (name, soul, id, key) in [
        (
            "alice",
            "9u2KM5Lw9wB1qaK3S46B4cWHTcpbCPG19wgWG9i233fX87HCA4bLYoG",
            "5puGXP8Ljasf8FPfv2TRSDKXxK5At1SGRsk1tJzzpDk8",
            "5W+Bh9paCZbmdobQaM4vmNHyOkmE5CbpwvFq59Hkyek=",
        ),
        (
            "soul1",
            "8pK88Js33U5qe3EKKH2yQFqPrBEAR4NbHYk2EapDNFeCAv9csyAoGbh",
            "GdvuSkxXBqqQdWxxUa8PM5a3WXZqDn2an96Sg3MLqDUm",
            "MlJrxAATiHigxrCYvlHpaJTGXnDvK+BJxAKdHKgRadc=",
        ),
    ] {
        assert_identity(&test_soul(name), name, soul, id, key);
    }
}

#[test]
fn a_native_soul_comes_from_the_machines_fingerprint_and_the_name() {
    let hardware_1 = Fingerprint(Sha256::digest("hardware-1").into());
    assert_identity(
        &Soul::native(&hardware_1, "jojo"),
        "jojo",
        "6iZE6ov6ids43ZDaW8cMaPwBmNtpTXYZqRNTaN8sJAr36UtoN2HnmQm",
        "2gdnSNmnqsnvDoTxnj5PVyupruDnVUCaMH6tdGcpUjqa",
        "wLFs+nDa8WiVnZh+olfzqPINDpbCvSeqIrmZH16uVtc=",
    );
    let hardware_2 = Fingerprint(Sha256::digest("hardware-2").into());
    assert_eq!(
        Soul::native(&hardware_2, "jojo").to_base58(),
        "SLAzxyDTtXuhzm4RHnS4paR1Xf3dVaK5QM5HLUsAQaWtCnNiWuCvT8"
    );
}

#[test]
fn the_fingerprint_is_the_host_id_and_the_sorted_mac_addresses() {
    let macs = ["aa:bb:cc:00:11:22".to_string(), "02:42:ac:11:00:02".to_string()];
    let fingerprint = Fingerprint::of("01234567-89ab-cdef-0123-456789abcdef", &macs);
    let hex: String = fingerprint.0.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "a00372946848fbbb8984fe5a926eb0d6af58b2cfcd428431bcf2e1e9fdb27a72");
    assert_eq!(
        Soul::native(&fingerprint, "lisa").to_base58(),
        "9mirgjAksgM88GXc9ZXpUH54udBwJeuxGbgvt9ur96iW9ukE4MsZro3"
    );
}

#[test]
fn a_soul_under_another_name_keeps_its_key_but_is_unbonded() {
    let soul = test_soul("test-nara");
    let elsewhere = Identity::new(&soul, "kitchen", SoulSource::Flag);
    assert!(!elsewhere.bonded);
    assert_eq!(elsewhere.public_key, "2YN8QzQNg4J7fTmwD0okZcw2GaOkiPfSCrvAMTnVsDA=");
    assert_ne!(elsewhere.id, "GZfbdZZsjKdUsG5adTRA48FSUCGgTDPZBefXHJtB7hKz");
}
