//! The TOML syntax of a domain file: `[[domain]]` tables with known keys only. Values are
//! checked for meaning in `validate`; here a refusal is about syntax, unknown keys or types.

use serde::Deserialize;
use somnus_abi::domain_bundle::MAX_DOMAINS;

use crate::error::{ConfigError, DomainRef};

/// The keys of a `[[domain]]` table, for messages.
const DOMAIN_KEYS: &str = "name, vcpus, pcpus, memory_mib, kernel, initrd, cmdline, devices";

/// One `[[domain]]` table as written.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainEntry {
    /// Unique name.
    pub name: String,
    /// Number of vCPUs.
    pub vcpus: u64,
    /// Physical CPU of each vCPU.
    pub pcpus: Option<Vec<u64>>,
    /// RAM in MiB.
    pub memory_mib: u64,
    /// Kernel file, relative to the configuration file's directory.
    pub kernel: String,
    /// Initial RAM disk file, relative to the configuration file's directory.
    pub initrd: Option<String>,
    /// Kernel command line (`/chosen/bootargs`).
    pub cmdline: Option<String>,
    /// Devices given to the domain, by name.
    pub devices: Option<Vec<String>>,
}

/// Parses a domain file into its entries, each with the reference messages use for it.
pub fn parse(text: &str) -> Result<Vec<(DomainRef, DomainEntry)>, ConfigError> {
    let table: toml::Table = toml::from_str(text).map_err(|error| syntax_error(text, &error))?;
    if let Some(key) = table.keys().find(|key| *key != "domain") {
        return Err(ConfigError::file_wide(key.as_str(), "is not a known key: the file holds [[domain]] tables only"));
    }
    let entries = match table.get("domain") {
        None => &Vec::new(),
        Some(toml::Value::Array(entries)) => entries,
        Some(_) => return Err(ConfigError::file_wide("domain", "must be written as [[domain]] tables")),
    };
    if entries.is_empty() {
        return Err(ConfigError::file_wide("[[domain]]", "is missing: at least one domain is needed"));
    }
    if entries.len() > MAX_DOMAINS {
        return Err(ConfigError::file_wide(
            "[[domain]]",
            format!("appears {} times, but at most {MAX_DOMAINS} domains are allowed", entries.len()),
        ));
    }
    entries.iter().enumerate().map(|(index, value)| parse_entry(index, value)).collect()
}

/// One `[[domain]]` table; the reference is its name if it has a plain one, its number otherwise.
fn parse_entry(index: usize, value: &toml::Value) -> Result<(DomainRef, DomainEntry), ConfigError> {
    let reference = value
        .get("name")
        .and_then(toml::Value::as_str)
        .filter(|name| is_valid_name(name))
        .map_or(DomainRef::Numbered(index + 1), |name| DomainRef::Named(name.to_owned()));
    if !value.is_table() {
        return Err(ConfigError::domain(&reference, "[[domain]]", "must be a table"));
    }
    let entry: DomainEntry = serde_path_to_error::deserialize(value.clone()).map_err(|error| {
        let path = error.path().to_string();
        let message = one_line(&error.into_inner().to_string());
        field_error(&reference, &path, &message)
    })?;
    Ok((reference, entry))
}

/// Names the field of a deserialization error: serde's path for a wrong value, the key named in
/// the message for a missing or unknown one.
fn field_error(reference: &DomainRef, path: &str, message: &str) -> ConfigError {
    if let Some(key) = quoted_key(message, "missing field `") {
        return ConfigError::domain(reference, key, "is missing");
    }
    if let Some(key) = quoted_key(message, "unknown field `") {
        return ConfigError::domain(reference, key, format!("is not a known key (known: {DOMAIN_KEYS})"));
    }
    let field = if path == "." { "[[domain]]" } else { path };
    ConfigError::domain(reference, field, format!("has the wrong type: {message}"))
}

/// The text between `prefix` and the next backquote, if the message starts with `prefix`.
fn quoted_key<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    message.strip_prefix(prefix)?.split('`').next()
}

/// A TOML syntax error, located by line.
fn syntax_error(text: &str, error: &toml::de::Error) -> ConfigError {
    let line = error.span().map_or(1, |span| text[..span.start.min(text.len())].matches('\n').count() + 1);
    ConfigError::file_wide(format!("line {line}"), format!("is not valid TOML: {}", one_line(error.message())))
}

/// Whether `name` is a valid domain name: 1..=32 bytes of `A-Z a-z 0-9 _ -`.
#[must_use]
pub fn is_valid_name(name: &str) -> bool {
    (1..=somnus_abi::domain_bundle::MAX_NAME_LENGTH).contains(&name.len())
        && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

/// Joins the lines of a message with `; `.
fn one_line(message: &str) -> String {
    message.lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(text: &str) -> ConfigError {
        parse(text).expect_err("refused")
    }

    const MINIMAL: &str = "[[domain]]\nname = \"a\"\nvcpus = 1\nmemory_mib = 16\nkernel = \"k\"\n";

    #[test]
    fn minimal_entry_has_no_optional_fields() {
        let entries = parse(MINIMAL).unwrap();
        assert_eq!(entries.len(), 1);
        let (reference, entry) = &entries[0];
        assert_eq!(*reference, DomainRef::Named("a".into()));
        assert_eq!((entry.vcpus, entry.memory_mib, entry.kernel.as_str()), (1, 16, "k"));
        assert_eq!((entry.pcpus.as_ref(), entry.initrd.as_ref(), entry.cmdline.as_ref()), (None, None, None));
        assert_eq!(entry.devices, None);
    }

    #[test]
    fn unknown_missing_and_mistyped_fields_are_named() {
        let error = refusal(&format!("{MINIMAL}memory = 3\n"));
        assert_eq!((error.domain.clone(), error.field.as_str()), (Some(DomainRef::Named("a".into())), "memory"));
        assert!(error.problem.starts_with("is not a known key"), "{error}");
        let error = refusal("[[domain]]\nname = \"a\"\nvcpus = 1\nmemory_mib = 16\n");
        assert_eq!((error.field.as_str(), error.problem.as_str()), ("kernel", "is missing"));
        let error = refusal(&MINIMAL.replace("vcpus = 1", "vcpus = \"1\""));
        assert_eq!(error.field, "vcpus");
        let error = refusal(&format!("{MINIMAL}pcpus = [0, \"x\"]\n"));
        assert_eq!(error.field, "pcpus[1]");
        let error = refusal(&MINIMAL.replace("vcpus = 1", "vcpus = -1"));
        assert_eq!(error.field, "vcpus");
    }

    #[test]
    fn a_domain_without_a_usable_name_is_numbered() {
        let error = refusal(&format!("{MINIMAL}[[domain]]\nname = \"bad name\"\nvcpus = 1\n"));
        assert_eq!(error.domain, Some(DomainRef::Numbered(2)));
        assert_eq!(error.field, "memory_mib");
    }

    #[test]
    fn file_wide_problems() {
        assert_eq!(refusal("").field, "[[domain]]");
        assert_eq!(refusal("domain = []").field, "[[domain]]");
        assert_eq!(refusal("domain = 3").field, "domain");
        assert_eq!(refusal(&format!("{MINIMAL}[machine]\n")).field, "machine");
        let error = refusal("[[domain]]\nname = \n");
        assert_eq!(error.field, "line 2");
        assert!(error.problem.starts_with("is not valid TOML: "), "{error}");
        assert!(!error.to_string().contains('\n'), "{error}");
    }

    #[test]
    fn names() {
        assert!(is_valid_name("linux-0_A"));
        assert!(is_valid_name(&"x".repeat(32)));
        for bad in ["", "a b", "é", &"x".repeat(33), "a.b"] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
    }
}
