//! Who this nara is on the plaza, derived exactly as the Go nara derives it, so the
//! same soul and name give the same ID and keys in either implementation.
//!
//! A soul is Base58 of 40 bytes: a 32-byte seed, then an 8-byte bond tag, the start of
//! HMAC-SHA256 keyed by the seed over `nara:name:v2:NAME`. The seed is the Ed25519
//! private seed; the nara ID is Base58 of SHA-256 over the 40 soul bytes and the name.
//! A soul used with another name still works, but the mismatch is reported as
//! "unbonded". The seed never leaves this module except as a signing key; `Debug`
//! redacts it. The configuration room resolves the [`IdentityConfig`] an identity is
//! built from; this module declares no setting.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer, SigningKey};
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::fmt;

const SEED_LEN: usize = 32;
const TAG_LEN: usize = 8;
/// The length of our own first soul format, which no release shipped.
const EARLIER_SOUL_LEN: usize = 36;
/// Salt of the HKDF that turns a machine's fingerprint into a native soul's seed.
const NATIVE_SOUL_SALT: &[u8] = b"nara:soul:v2";

/// The secret every other identity fact derives from.
#[derive(Clone)]
pub struct Soul {
    seed: [u8; SEED_LEN],
    tag: [u8; TAG_LEN],
}

impl fmt::Debug for Soul {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Soul(<redacted>)")
    }
}

/// Why a text is not a soul; never quotes the text.
#[derive(Debug, PartialEq, Eq)]
pub struct NotASoul(&'static str);

impl fmt::Display for NotASoul {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// The bond tag: which name a seed was minted for.
fn tag_for(seed: &[u8; SEED_LEN], name: &str) -> [u8; TAG_LEN] {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(seed).expect("HMAC takes a key of any length");
    mac.update(b"nara:name:v2:");
    mac.update(name.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(&digest[..TAG_LEN]);
    tag
}

/// What a machine's soul is derived from: SHA-256 of its host ID, `-`, and its
/// network cards' MAC addresses (sorted, comma-separated), as the Go nara hashes them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint(pub [u8; 32]);

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fingerprint(<redacted>)")
    }
}

impl Fingerprint {
    /// The fingerprint of a machine with this host ID (empty if none could be read)
    /// and these MAC addresses (lowercase, colon-separated).
    pub fn of(host_id: &str, macs: &[String]) -> Fingerprint {
        let mut macs = macs.to_vec();
        macs.sort();
        let mut hasher = Sha256::new();
        hasher.update(host_id.as_bytes());
        hasher.update(b"-");
        hasher.update(macs.join(",").as_bytes());
        Fingerprint(hasher.finalize().into())
    }
}

impl Soul {
    fn from_seed(seed: [u8; SEED_LEN], name: &str) -> Soul {
        Soul {
            seed,
            tag: tag_for(&seed, name),
        }
    }

    /// A new random soul bonded to `name` (`nara soul new`).
    pub fn mint(name: &str) -> Result<Soul, String> {
        let mut seed = [0u8; SEED_LEN];
        getrandom::fill(&mut seed).map_err(|e| format!("the system gave no randomness: {e}"))?;
        Ok(Soul::from_seed(seed, name))
    }

    /// The soul this machine has under `name`: stable on this machine, lost on a move
    /// (which is why nara warns when it falls back to one), and the soul the Go nara
    /// derives for the same machine and name.
    pub fn native(fingerprint: &Fingerprint, name: &str) -> Soul {
        let hkdf = hkdf::Hkdf::<Sha256>::new(Some(NATIVE_SOUL_SALT), &fingerprint.0);
        let mut seed = [0u8; SEED_LEN];
        let info = [b"seed:custom:".as_slice(), name.as_bytes()].concat();
        hkdf.expand(&info, &mut seed)
            .expect("32 bytes is within what HKDF-SHA256 can expand");
        Soul::from_seed(seed, name)
    }

    /// Parses a soul in Base58, as `nara soul new` prints it.
    pub fn parse(text: &str) -> Result<Soul, NotASoul> {
        let bytes = bs58::decode(text.trim())
            .into_vec()
            .map_err(|_| NotASoul("not Base58"))?;
        match bytes.len() {
            len if len == SEED_LEN + TAG_LEN => {}
            EARLIER_SOUL_LEN => {
                return Err(NotASoul(
                    "a soul in an earlier format of this nara (36 bytes), which no release used; \
                     mint a new one with `nara soul new --name NAME`",
                ));
            }
            _ => {
                return Err(NotASoul(
                    "wrong length (a soul is Base58 of 40 bytes; mint one with `nara soul new`)",
                ));
            }
        }
        let mut seed = [0u8; SEED_LEN];
        let mut tag = [0u8; TAG_LEN];
        seed.copy_from_slice(&bytes[..SEED_LEN]);
        tag.copy_from_slice(&bytes[SEED_LEN..]);
        Ok(Soul { seed, tag })
    }

    fn bytes(&self) -> [u8; SEED_LEN + TAG_LEN] {
        let mut bytes = [0u8; SEED_LEN + TAG_LEN];
        bytes[..SEED_LEN].copy_from_slice(&self.seed);
        bytes[SEED_LEN..].copy_from_slice(&self.tag);
        bytes
    }

    /// The text form; printed only by `nara soul new`.
    pub fn to_base58(&self) -> String {
        bs58::encode(self.bytes()).into_string()
    }

    /// Whether this soul was minted for `name`.
    pub fn is_bonded_to(&self, name: &str) -> bool {
        !name.is_empty() && self.tag == tag_for(&self.seed, name)
    }
}

/// Where the soul came from, shown in `/api/status` (never the soul itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SoulSource {
    /// `--soul`.
    Flag,
    /// The soul variable.
    Environment,
    /// `--soul-file` or `soul_file`.
    File,
    /// The systemd credential `soul`.
    Credential,
    /// Derived from this machine's fingerprint and the name.
    Native,
    /// Random, for this run only.
    Ephemeral,
}

/// Who this nara is, as the configuration room resolved it: its name, its soul and where
/// that came from, and what to tell the operator when the soul was minted for another
/// name.
#[derive(Clone, Debug)]
pub(crate) struct IdentityConfig {
    pub(crate) name: String,
    pub(crate) soul: Soul,
    pub(crate) soul_source: SoulSource,
    /// Set when the soul was minted for another name: what to do about it.
    pub(crate) bond_advice: Option<String>,
}

/// This nara's public identity and its signing key.
pub struct Identity {
    /// The name it goes by: its topics and every message it sends carry it.
    pub name: String,
    /// The nara ID, from soul and name.
    pub id: String,
    /// The Ed25519 public key, standard Base64 (as the Go nara writes it).
    pub public_key: String,
    /// False when the soul was minted for another name.
    pub bonded: bool,
    pub(crate) soul_source: SoulSource,
    /// When the soul was minted for another name: what the operator should do.
    pub(crate) bond_advice: Option<String>,
    signing: SigningKey,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("name", &self.name)
            .field("id", &self.id)
            .field("public_key", &self.public_key)
            .field("bonded", &self.bonded)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// The identity `soul` gives under `name`.
    pub fn new(soul: &Soul, name: &str, soul_source: SoulSource) -> Identity {
        let signing = SigningKey::from_bytes(&soul.seed);
        let mut hasher = Sha256::new();
        hasher.update(soul.bytes());
        hasher.update(name.as_bytes());
        Identity {
            name: name.to_string(),
            id: bs58::encode(hasher.finalize()).into_string(),
            public_key: BASE64.encode(signing.verifying_key().to_bytes()),
            bonded: soul.is_bonded_to(name),
            soul_source,
            bond_advice: None,
            signing,
        }
    }

    /// The identity `config` describes, with its advice about the bond.
    pub(crate) fn from_config(config: &IdentityConfig) -> Identity {
        Identity {
            bond_advice: config.bond_advice.clone(),
            ..Identity::new(&config.soul, &config.name, config.soul_source)
        }
    }

    /// A standard Base64 Ed25519 signature over `bytes`.
    pub fn sign(&self, bytes: &[u8]) -> String {
        BASE64.encode(self.signing.sign(bytes).to_bytes())
    }
}

/// Names travel in MQTT topics and URLs, so they stay within a safe alphabet.
pub fn validate_name(name: &str) -> Result<String, String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.len() > 64 || !name.chars().all(ok_char) {
        return Err("expected 1 to 64 letters, digits, '-', '_' or '.'".to_string());
    }
    Ok(name.to_string())
}

/// The Go nara's test helper `testSoul(name)` as an identity: the native soul of the
/// fingerprint SHA-256("test-hardware-" + name), which the wire-format tests use.
#[cfg(test)]
pub(crate) fn go_test_identity(name: &str) -> Identity {
    let fingerprint = Fingerprint(Sha256::digest(format!("test-hardware-{name}")).into());
    Identity::new(&Soul::native(&fingerprint, name), name, SoulSource::Native)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_soul_round_trips_and_is_bonded_to_its_name() {
        let soul = Soul::mint("kitchen").unwrap();
        let parsed = Soul::parse(&soul.to_base58()).unwrap();
        assert!(parsed.is_bonded_to("kitchen"));
        assert!(!parsed.is_bonded_to("garage"));
        let a = Identity::new(&soul, "kitchen", SoulSource::Flag);
        let b = Identity::new(&parsed, "kitchen", SoulSource::Flag);
        assert_eq!(a.id, b.id);
        assert_eq!(a.public_key, b.public_key);
    }

    #[test]
    fn a_soul_used_under_another_name_is_unbonded_and_gets_another_id() {
        let soul = Soul::mint("kitchen").unwrap();
        let home = Identity::new(&soul, "kitchen", SoulSource::Flag);
        let away = Identity::new(&soul, "garage", SoulSource::Flag);
        assert!(home.bonded);
        assert!(!away.bonded);
        assert_ne!(home.id, away.id);
    }

    #[test]
    fn native_souls_are_stable_per_machine_and_name() {
        let machine = |id: &str| Fingerprint::of(id, &[]);
        let a = Identity::new(&Soul::native(&machine("machine-1"), "n"), "n", SoulSource::Native);
        let b = Identity::new(&Soul::native(&machine("machine-1"), "n"), "n", SoulSource::Native);
        let c = Identity::new(&Soul::native(&machine("machine-2"), "n"), "n", SoulSource::Native);
        assert_eq!(a.public_key, b.public_key);
        assert_ne!(a.public_key, c.public_key);
        assert!(a.bonded);
    }

    #[test]
    fn malformed_souls_are_refused_without_echoing_them() {
        assert_eq!(Soul::parse("0OIl").unwrap_err(), NotASoul("not Base58"));
        let short = bs58::encode([1u8; 10]).into_string();
        let err = Soul::parse(&short).unwrap_err().to_string();
        assert!(err.starts_with("wrong length") && !err.contains(&short));
        let earlier = bs58::encode([7u8; 36]).into_string();
        let err = Soul::parse(&earlier).unwrap_err().to_string();
        assert!(err.contains("earlier format") && err.contains("nara soul new"), "{err}");
    }

    #[test]
    fn debug_output_never_shows_the_seed() {
        let soul = Soul::mint("x").unwrap();
        let text = soul.to_base58();
        assert_eq!(format!("{soul:?}"), "Soul(<redacted>)");
        let identity = Identity::new(&soul, "x", SoulSource::Flag);
        assert!(!format!("{identity:?}").contains(&text));
    }
}
