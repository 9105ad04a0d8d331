//! Input rules for accounts, shared by the server and the forms.

use crate::error::AppError;

pub const MIN_PASSWORD_LENGTH: usize = 10;
/// Argon2 accepts longer input, but hashing megabytes per request is a cheap
/// denial of service.
pub const MAX_PASSWORD_LENGTH: usize = 1024;
pub const MAX_TEAM_NAME_LENGTH: usize = 80;
pub const MAX_NOTE_LENGTH: usize = 200;

/// Normalises an email address (trimmed, lower-case) and checks its shape.
pub fn email(raw: &str) -> Result<String, AppError> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err(AppError::invalid("email", "Email is required."));
    }
    let shape_ok = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if !shape_ok {
        return Err(AppError::invalid(
            "email",
            format!("Email {:?} is not a valid address; expected name@example.com.", raw.trim()),
        ));
    }
    Ok(email)
}

pub fn password(field: &str, password: &str) -> Result<(), AppError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LENGTH {
        return Err(AppError::invalid(
            field,
            format!(
                "Password is too short ({length} characters); use at least {MIN_PASSWORD_LENGTH}."
            ),
        ));
    }
    if password.trim().is_empty() {
        return Err(AppError::invalid(field, "Password cannot be only spaces."));
    }
    if length > MAX_PASSWORD_LENGTH {
        return Err(AppError::invalid(
            field,
            format!("Password is too long; use at most {MAX_PASSWORD_LENGTH} characters."),
        ));
    }
    Ok(())
}

pub fn team_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::invalid("team_name", "Team name is required."));
    }
    if name.chars().count() > MAX_TEAM_NAME_LENGTH {
        return Err(AppError::invalid(
            "team_name",
            format!("Team name is too long; use at most {MAX_TEAM_NAME_LENGTH} characters."),
        ));
    }
    Ok(name.to_string())
}

pub fn note(raw: &str) -> Result<String, AppError> {
    let note = raw.trim();
    if note.chars().count() > MAX_NOTE_LENGTH {
        return Err(AppError::invalid(
            "note",
            format!("Note is too long; use at most {MAX_NOTE_LENGTH} characters."),
        ));
    }
    Ok(note.to_string())
}

/// Returns whether `path` is a path on this site, so that redirecting to it
/// after sign-in cannot send the user elsewhere.
pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/') && !path.starts_with("//") && !path.contains('\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_normalises_and_rejects() {
        assert_eq!(email("  Ada@Example.COM ").unwrap(), "ada@example.com");
        for bad in ["", "   ", "ada", "@example.com", "ada@", "a b@example.com", "a@b@c"] {
            let error = email(bad).unwrap_err();
            assert_eq!(error.field(), Some("email"), "input {bad:?}");
        }
    }

    #[test]
    fn password_length_bounds() {
        assert!(password("password", "0123456789").is_ok());
        assert!(password("password", "ééééééééééé").is_ok());
        let short = password("password", "012345678").unwrap_err();
        assert_eq!(short.field(), Some("password"));
        assert!(short.to_string().contains("at least 10"));
        assert_eq!(password("password", "          ").unwrap_err().field(), Some("password"));
        let long = "x".repeat(MAX_PASSWORD_LENGTH + 1);
        assert!(password("password", &long).is_err());
    }

    #[test]
    fn team_name_trims_and_bounds() {
        assert_eq!(team_name("  Ops  ").unwrap(), "Ops");
        assert!(team_name(" ").is_err());
        assert!(team_name(&"x".repeat(MAX_TEAM_NAME_LENGTH + 1)).is_err());
    }

    #[test]
    fn local_paths_only() {
        for good in ["/", "/team", "/monitors?state=failed"] {
            assert!(is_local_path(good), "{good}");
        }
        for bad in ["", "team", "//evil.example", "https://evil.example", "/\\evil.example"] {
            assert!(!is_local_path(bad), "{bad}");
        }
    }
}
