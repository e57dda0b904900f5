//! Why a domain configuration is refused: one line naming the file, the domain, the field and
//! the problem, e.g. `domains.toml: domain "linux": pcpus[1] = 5, but the machine has 4 CPUs`.

use std::fmt;

/// Which domain a refusal is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainRef {
    /// A domain whose name is known.
    Named(String),
    /// A domain by its position in the file (1-based), when its name is missing or invalid.
    Numbered(usize),
}

impl fmt::Display for DomainRef {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Named(name) => write!(formatter, "domain \"{name}\""),
            Self::Numbered(number) => write!(formatter, "domain #{number}"),
        }
    }
}

/// A refused configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The configuration file, as the caller named it.
    pub file: String,
    /// The domain at fault; `None` for problems of the whole file (syntax, domain count).
    pub domain: Option<DomainRef>,
    /// The field at fault, as written in the file (`pcpus[1]`, `kernel`), or where in the file
    /// (`line 3, column 7`) for a syntax error.
    pub field: String,
    /// What is wrong, continuing the sentence after the field.
    pub problem: String,
}

impl ConfigError {
    /// A problem of one field of one domain; the file is filled in by [`ConfigError::in_file`].
    pub fn domain(domain: &DomainRef, field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { file: String::new(), domain: Some(domain.clone()), field: field.into(), problem: problem.into() }
    }

    /// A problem of the whole file.
    pub fn file_wide(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { file: String::new(), domain: None, field: field.into(), problem: problem.into() }
    }

    /// The same refusal, naming `file`.
    #[must_use]
    pub fn in_file(mut self, file: &str) -> Self {
        file.clone_into(&mut self.file);
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: ", self.file)?;
        if let Some(domain) = &self.domain {
            write!(formatter, "{domain}: ")?;
        }
        write!(formatter, "{} {}", self.field, self.problem)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_is_one_line_naming_file_domain_and_field() {
        let error =
            ConfigError::domain(&DomainRef::Named("linux".into()), "pcpus[1]", "= 5, but the machine has 4 CPUs")
                .in_file("domains.toml");
        assert_eq!(error.to_string(), "domains.toml: domain \"linux\": pcpus[1] = 5, but the machine has 4 CPUs");
        let error = ConfigError::file_wide("[[domain]]", "is missing: at least one domain is needed").in_file("d.toml");
        assert_eq!(error.to_string(), "d.toml: [[domain]] is missing: at least one domain is needed");
        assert_eq!(DomainRef::Numbered(2).to_string(), "domain #2");
    }
}
