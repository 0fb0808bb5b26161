//! Loading TOML config files with errors that name the file, the line and the key.

use serde::de::DeserializeOwned;
use std::fmt;
use std::path::Path;

/// Why a config file could not be loaded.
#[derive(Debug)]
pub struct ConfigError {
    /// `FILE:LINE: key `KEY`: what is wrong`, or `FILE: what is wrong` when no line applies.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Reads and parses `path` as `T`.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        message: format!("{}: {e}", path.display()),
    })?;
    parse(&path.display().to_string(), &text)
}

/// Parses `text` (named `name` in errors) as `T`.
pub fn parse<T: DeserializeOwned>(name: &str, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let what = e.message().trim_end().to_string();
        let Some(span) = e.span() else {
            return ConfigError {
                message: format!("{name}: {what}"),
            };
        };
        let start = span.start.min(text.len());
        let line_no = text[..start].matches('\n').count() + 1;
        let line = text.lines().nth(line_no - 1).unwrap_or("");
        let message = match key_of(line) {
            Some(key) => format!("{name}:{line_no}: key `{key}`: {what}"),
            None => format!("{name}:{line_no}: {what}"),
        };
        ConfigError { message }
    })
}

/// The key a TOML line sets (`key = value`), or the table it opens (`[table]`, `[[table]]`).
pub fn key_of(line: &str) -> Option<&str> {
    let line = line.trim();
    if let Some(table) = line.strip_prefix('[') {
        return Some(table.trim_start_matches('[').split(']').next()?.trim());
    }
    let (key, _) = line.split_once('=')?;
    Some(key.trim().trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        port: u16,
    }

    #[test]
    fn a_bad_value_names_the_line_and_the_key() {
        let err = parse::<Sample>("x.toml", "name = \"a\"\nport = \"many\"\n").unwrap_err();
        assert!(
            err.message.starts_with("x.toml:2: key `port`: "),
            "{}",
            err.message
        );
    }

    #[test]
    fn an_unknown_key_names_its_line() {
        let err = parse::<Sample>("x.toml", "name = \"a\"\nport = 1\nbogus = 2\n").unwrap_err();
        assert!(
            err.message.starts_with("x.toml:3: key `bogus`: "),
            "{}",
            err.message
        );
    }
}
