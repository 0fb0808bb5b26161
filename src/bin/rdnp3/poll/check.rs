//! What the types of the poll config cannot say: one transport per outstation, unique names,
//! classes 1-3, complete commands and TLS settings. Each problem is reported like a parse
//! error, `FILE:LINE: key `KEY`: what is wrong`, with the line of the key (or, for a missing
//! key, of its table's header).

use super::config::{CommandKind, PollConfig};
use crate::config_file::key_of;
use std::collections::HashSet;

/// One problem: where (the outstation, and the command within it) and which key.
#[derive(Debug, PartialEq, Eq)]
struct Problem {
    outstation: usize,
    command: Option<usize>,
    key: &'static str,
    what: String,
}

/// Checks `config`, read from `text` (named `file` in the message).
pub fn check(config: &PollConfig, file: &str, text: &str) -> Result<(), String> {
    if config.outstation.is_empty() {
        return Err(format!("{file}: no [[outstation]] to poll"));
    }
    let Some(p) = first_problem(config) else {
        return Ok(());
    };
    Err(match line_of(text, p.outstation, p.command, p.key) {
        Some(line) => format!("{file}:{line}: key `{}`: {}", p.key, p.what),
        None => format!("{file}: key `{}`: {}", p.key, p.what),
    })
}

fn first_problem(config: &PollConfig) -> Option<Problem> {
    let problem = |outstation, key, what: &str| Problem {
        outstation,
        command: None,
        key,
        what: what.to_string(),
    };
    let mut names = HashSet::new();
    for (i, o) in config.outstation.iter().enumerate() {
        if !names.insert(o.name.as_str()) {
            return Some(problem(i, "name", "used by another outstation"));
        }
        match (&o.connect, &o.serial) {
            (Some(_), Some(_)) => {
                return Some(problem(i, "serial", "`connect` is set too; set only one"))
            }
            (None, None) => {
                return Some(problem(i, "connect", "missing (or set `serial`)"));
            }
            _ => {}
        }
        if o.serial.is_some() && o.tls.is_some() {
            return Some(problem(
                i,
                "outstation.tls",
                "TLS needs `connect`, not `serial`",
            ));
        }
        if let Some(c) = o.unsolicited.iter().find(|c| !(1..=3).contains(*c)) {
            let what = format!("class {c} is not 1, 2 or 3");
            return Some(problem(i, "unsolicited", &what));
        }
        if let Some(tls) = &o.tls {
            if tls.ca.is_some() == tls.peer_cert.is_some() {
                let what = "set one of `ca` and `peer_cert`";
                return Some(problem(i, "outstation.tls", what));
            }
        }
        for (j, c) in o.command.iter().enumerate() {
            let missing = match c.kind {
                CommandKind::Crob if c.op.is_none() => "op",
                CommandKind::Analog if c.value.is_none() => "value",
                _ => continue,
            };
            return Some(Problem {
                outstation: i,
                command: Some(j),
                key: missing,
                what: format!("missing (commands of kind `{}` need it)", c.kind.name()),
            });
        }
    }
    None
}

/// The line (1-based) that sets `key` in the `outstation`-th `[[outstation]]` table (or in
/// its `command`-th `[[outstation.command]]`), or of that table's header when the key is not
/// set there; a key naming a table (`outstation.tls`) finds its header.
fn line_of(text: &str, outstation: usize, command: Option<usize>, key: &str) -> Option<usize> {
    let (mut o, mut c): (Option<usize>, Option<usize>) = (None, None);
    let mut table = "";
    let mut header = None;
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            table = key_of(trimmed).unwrap_or("");
            match table {
                "outstation" => {
                    o = Some(o.map_or(0, |x| x + 1));
                    c = None;
                }
                "outstation.command" => c = Some(c.map_or(0, |x| x + 1)),
                _ => {}
            }
            if o != Some(outstation) {
                continue;
            }
            if table == key {
                return Some(line_no);
            }
            let target = if command.is_some() {
                "outstation.command"
            } else {
                "outstation"
            };
            if table == target && c == command {
                header = Some(line_no);
            }
            continue;
        }
        let in_target = match command {
            None => table == "outstation",
            Some(_) => table == "outstation.command" && c == command,
        };
        if o == Some(outstation) && in_target && key_of(trimmed) == Some(key) {
            return Some(line_no);
        }
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config_file::parse;

    const TWO: &str = "\
[master]
address = 1

[[outstation]]
name = \"a\"
connect = \"127.0.0.1:20000\"

[[outstation]]
name = \"b\"
connect = \"127.0.0.1:20001\"
unsolicited = [1]
";

    fn check_text(text: &str) -> Result<(), String> {
        let config: PollConfig = parse("p.toml", text).unwrap();
        check(&config, "p.toml", text)
    }

    #[test]
    fn a_valid_config_passes() {
        check_text(TWO).unwrap();
    }

    #[test]
    fn a_repeated_name_points_at_its_second_use() {
        let err = check_text(&TWO.replace("\"b\"", "\"a\"")).unwrap_err();
        assert_eq!(err, "p.toml:9: key `name`: used by another outstation");
    }

    #[test]
    fn two_transports_or_none_point_at_the_outstation() {
        let text = format!("{TWO}serial = \"/dev/ttyS0\"\n");
        let err = check_text(&text).unwrap_err();
        assert_eq!(
            err,
            "p.toml:12: key `serial`: `connect` is set too; set only one"
        );
        let text = TWO.replace("connect = \"127.0.0.1:20001\"\n", "");
        let err = check_text(&text).unwrap_err();
        assert_eq!(err, "p.toml:8: key `connect`: missing (or set `serial`)");
    }

    #[test]
    fn a_bad_class_and_an_incomplete_command_name_their_lines() {
        let err = check_text(&TWO.replace("[1]", "[1, 4]")).unwrap_err();
        assert_eq!(
            err,
            "p.toml:11: key `unsolicited`: class 4 is not 1, 2 or 3"
        );
        let text = format!(
            "{TWO}[[outstation.command]]\nkind = \"crob\"\nindex = 0\nop = \"LATCH_ON\"\n\
             [[outstation.command]]\nkind = \"analog\"\nindex = 1\n"
        );
        let err = check_text(&text).unwrap_err();
        assert_eq!(
            err,
            "p.toml:16: key `value`: missing (commands of kind `analog` need it)"
        );
    }

    #[test]
    fn tls_without_a_peer_check_points_at_its_table() {
        let text = format!("{TWO}[outstation.tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n");
        let err = check_text(&text).unwrap_err();
        assert_eq!(
            err,
            "p.toml:12: key `outstation.tls`: set one of `ca` and `peer_cert`"
        );
    }
}
