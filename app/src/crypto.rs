//! Encryption of stored credentials (Heroku tokens and API keys).
//!
//! XChaCha20-Poly1305 with the instance's credential key: the 24-byte random
//! nonce is long enough to draw at random for every write, and the
//! associated data names the row and column a ciphertext belongs to, so a
//! ciphertext copied into another row or column fails to decrypt.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const NONCE_LENGTH: usize = 24;

/// A ciphertext could not be decrypted: wrong key (the instance secret
/// changed), wrong associated data, or damaged bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored credential cannot be decrypted; was the instance secret changed?")]
pub struct DecryptError;

/// Encrypts `plaintext`; returns the nonce followed by the ciphertext.
pub fn seal(key: &[u8; 32], associated_data: &str, plaintext: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let payload = Payload { msg: plaintext, aad: associated_data.as_bytes() };
    let ciphertext = cipher
        .encrypt(&nonce, payload)
        .expect("XChaCha20-Poly1305 encrypts any message shorter than 256 GiB");
    let mut sealed = Vec::with_capacity(NONCE_LENGTH + ciphertext.len());
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&ciphertext);
    sealed
}

/// Decrypts what [`seal`] returned for the same key and associated data.
pub fn open(key: &[u8; 32], associated_data: &str, sealed: &[u8]) -> Result<Vec<u8>, DecryptError> {
    if sealed.len() < NONCE_LENGTH {
        return Err(DecryptError);
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LENGTH);
    let cipher = XChaCha20Poly1305::new(key.into());
    let payload = Payload { msg: ciphertext, aad: associated_data.as_bytes() };
    cipher.decrypt(XNonce::from_slice(nonce), payload).map_err(|_| DecryptError)
}

/// Decrypts a sealed UTF-8 string.
pub fn open_string(
    key: &[u8; 32],
    associated_data: &str,
    sealed: &[u8],
) -> Result<String, DecryptError> {
    String::from_utf8(open(key, associated_data, sealed)?).map_err(|_| DecryptError)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn round_trip() {
        let sealed = seal(&KEY, "row 1", b"HRKU-secret");
        assert_eq!(open_string(&KEY, "row 1", &sealed).unwrap(), "HRKU-secret");
    }

    #[test]
    fn ciphertext_hides_plaintext_and_varies() {
        let first = seal(&KEY, "row 1", b"HRKU-secret");
        let second = seal(&KEY, "row 1", b"HRKU-secret");
        assert_ne!(first, second, "each seal draws a fresh nonce");
        assert!(!first.windows(11).any(|window| window == b"HRKU-secret"));
    }

    #[test]
    fn wrong_key_or_label_or_bytes_fail() {
        let sealed = seal(&KEY, "row 1", b"HRKU-secret");
        assert_eq!(open(&[8; 32], "row 1", &sealed), Err(DecryptError));
        assert_eq!(open(&KEY, "row 2", &sealed), Err(DecryptError));
        let mut damaged = sealed.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert_eq!(open(&KEY, "row 1", &damaged), Err(DecryptError));
        assert_eq!(open(&KEY, "row 1", &sealed[..10]), Err(DecryptError));
    }
}
