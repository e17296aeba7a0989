//! The dashboard's sessions as the stores keep them: by the SHA-256 of the
//! token (never the token), with the person, their scope, the CSRF token
//! their forms carry and an expiry.

use jiff::Timestamp;

/// One signed-in person's session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSession {
    /// The SHA-256 of the session's token, in hexadecimal.
    pub digest: String,
    /// The key's name (or person's) the session acts as.
    pub name: String,
    /// Its scope (`viewer`, `admin`): the server's to interpret.
    pub scope: String,
    /// The token every write form of the session carries.
    pub csrf: String,
    /// When it ends.
    pub expires_at: Timestamp,
}
